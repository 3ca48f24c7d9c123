# The issue-5 protocol in plain PyTorch on the CPU, started from exactly the point our trainer starts
# from: the untrained adapter and the epoch order that `go run ./tools/parity/dump -init DIR -method M
# -seed S` writes for `moslora train --method M --seed S`. Same examples (the dump's "train"), same
# batches of 16 in the same order, same initial A, B (and mixer M), so the two runs differ only by
# floating-point rounding; the trained adapter is written as a PEFT folder that `moslora eval` reads.
#
# Model: the llama of ../shared/bench/torch_anchor.py in float32 (eager PyTorch, no transformers);
# adapter y = W x + s·B(M(A x)), s = alpha/r = 2; AdamW (torch.optim) 1e-3, betas 0.9/0.999, eps 1e-8,
# no decay; warmup 30 then cosine to 0 (transformers' lambda); clip_grad_norm_ 1.0. A batch's loss is
# the mean over its scored tokens; it is computed over length-sorted groups of rows (less padding)
# whose summed token losses are divided by the batch's token count, which is the same gradient.
#
#   go run ./tools/parity/dump -init INIT -method lora -seed 0 MODEL TRAIN TEST protocol.json
#   /usr/bin/python3 tools/parity/torch_paired.py protocol.json MODEL INIT OUT
#   moslora eval --model MODEL --adapter OUT --data TEST --json
#
# OUT/losses.json holds the per-step batch losses, to set beside our run's metrics.jsonl.
import json, math, os, shutil, struct, sys, time

import numpy as np
import torch
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "..", "shared", "bench"))
import torch_anchor as ta  # noqa: E402

protocol, model_dir, init_dir, out_dir = sys.argv[1:5]
torch.set_num_threads(int(os.environ.get("THREADS", "2")))
train = json.load(open(protocol))["train"]
order = json.load(open(os.path.join(init_dir, "order.json")))
init = ta.load_safetensors(os.path.join(init_dir, "adapter_model.safetensors"))
cfg = json.load(open(os.path.join(init_dir, "adapter_config.json")))
r, alpha = cfg["r"], cfg["lora_alpha"]

m = ta.load_model(model_dir, None)
for p in m.parameters():
    p.requires_grad = False
params = {}  # safetensors key -> parameter
for li, blk in enumerate(m.layers):
    for t in ta.TARGETS:
        sub = "self_attn" if t in ("q_proj", "k_proj", "v_proj", "o_proj") else "mlp"
        pre = f"base_model.model.model.layers.{li}.{sub}.{t}."
        extra = [k for k in init if k.startswith(pre) and k not in (pre + "lora_A.weight", pre + "lora_B.weight")]
        assert len(extra) <= 1, extra
        ad = ta.Adapted(getattr(blk, t), r, alpha, bool(extra))
        for key, p in [(pre + "lora_A.weight", ad.A), (pre + "lora_B.weight", ad.B)] + [(k, ad.M) for k in extra]:
            assert tuple(init[key].shape) == tuple(p.shape), (key, init[key].shape, p.shape)
            p.data.copy_(init[key])
            params[key] = p
        setattr(blk, t, ad)
assert set(params) == set(init), set(init) ^ set(params)
names = sorted(params)
plist = [params[k] for k in names]

steps = math.ceil(len(order) / 16)
opt = torch.optim.AdamW(plist, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)


def lam(s):  # transformers.get_cosine_schedule_with_warmup(30, steps)
    if s < 30:
        return s / 30
    p = (s - 30) / max(1, steps - 30)
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * p)))


sched = torch.optim.lr_scheduler.LambdaLR(opt, lam)


def group(rows, size=4):
    rows = sorted(rows, key=lambda e: len(e["ids"]))
    for i in range(0, len(rows), size):
        g = rows[i:i + size]
        T = len(g[-1]["ids"])
        ids = torch.zeros(len(g), T, dtype=torch.long)
        lab = torch.full((len(g), T), -100, dtype=torch.long)
        for j, e in enumerate(g):
            ids[j, :len(e["ids"])] = torch.tensor(e["ids"])
            lab[j, :len(e["labels"])] = torch.tensor(e["labels"])
        yield ids, lab


losses, t0 = [], time.time()
for s in range(steps):
    rows = [train[i] for i in order[s * 16:(s + 1) * 16]]
    n = sum(sum(1 for l in e["labels"][1:] if l != -100) for e in rows)
    total = 0.0
    for ids, lab in group(rows):
        logits = m(ids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), lab[:, 1:].reshape(-1),
                               ignore_index=-100, reduction="sum") / n
        loss.backward()
        total += loss.item()
    torch.nn.utils.clip_grad_norm_(plist, 1.0)
    opt.step()
    sched.step()
    opt.zero_grad(set_to_none=True)
    losses.append(total)
    if s % 20 == 0 or s == steps - 1:
        print(f"step {s + 1}/{steps} loss {total:.6f} {time.time() - t0:.0f}s", flush=True)

os.makedirs(out_dir, exist_ok=True)
header, blobs, off = {}, [], 0
for k in names:
    a = params[k].detach().numpy().astype("<f4")
    header[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
    blobs.append(a.tobytes())
    off += a.nbytes
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * (-len(h) % 8)
tmp = os.path.join(out_dir, "adapter_model.safetensors.tmp")
with open(tmp, "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
os.replace(tmp, os.path.join(out_dir, "adapter_model.safetensors"))
shutil.copy(os.path.join(init_dir, "adapter_config.json"), out_dir)
json.dump(losses, open(os.path.join(out_dir, "losses.json"), "w"))
print(f"done: {steps} steps in {time.time() - t0:.0f}s, last-10 mean loss {sum(losses[-10:]) / 10:.4f}", flush=True)
