# The issue-5 quality protocol in PyTorch + PEFT, on the examples and evaluation requests that
# `go run ./tools/parity/dump` encodes with our data.Encode (so both sides see the same tokens):
# LoRA r 16, alpha 32, dropout 0 on the seven projections; AdamW 1e-3 (0.9, 0.999, 1e-8, no decay),
# batch 16, one epoch in a torch.randperm(seed) order, warmup 30 then cosine, clip 1.0; evaluation
# as `moslora eval` (summed choice log-probs; exact match = every completion and EOS token is the
# argmax). Each seed runs with the base in bfloat16 (what transformers 5 loads for this bf16
# checkpoint by default) and in float32. Needs torch, transformers and peft (a GPU helps: about
# 25 s per run on one H200).
#
#   python3 tools/parity/torch_protocol.py PROTOCOL.json MODEL_DIR SEEDS OUT_DIR   (SEEDS: 0,1,2)
import json, math, sys, time, os
import torch
from transformers import AutoModelForCausalLM, get_cosine_schedule_with_warmup
from peft import LoraConfig, get_peft_model

import transformers, peft
print("torch", torch.__version__, "transformers", transformers.__version__, "peft", peft.__version__, torch.cuda.get_device_name(0), flush=True)
D = json.load(open(sys.argv[1]))
MODEL = sys.argv[2]
TRAIN, TEST = D["train"], D["test"]
dev = "cuda"
out_dir = sys.argv[4]


def pad(seqs):
    T = max(len(s["ids"]) for s in seqs)
    ids = torch.zeros(len(seqs), T, dtype=torch.long)
    lab = torch.full((len(seqs), T), -100, dtype=torch.long)
    att = torch.zeros(len(seqs), T, dtype=torch.long)
    for i, s in enumerate(seqs):
        n = len(s["ids"])
        ids[i, :n] = torch.tensor(s["ids"])
        lab[i, :n] = torch.tensor(s["labels"])
        att[i, :n] = 1
    return ids.to(dev), lab.to(dev), att.to(dev)


@torch.no_grad()
def evaluate(model):
    model.eval()
    reqs = []  # (row, kind, j, seq)
    for r, row in enumerate(TEST):
        for j, s in enumerate(row.get("choices") or []):
            reqs.append((r, "c", j, s))
        for j, s in enumerate(row.get("cands") or []):
            reqs.append((r, "g", j, s))
    res = {}
    reqs_sorted = sorted(range(len(reqs)), key=lambda i: len(reqs[i][3]["ids"]))
    B = 64
    for b0 in range(0, len(reqs_sorted), B):
        idx = reqs_sorted[b0:b0 + B]
        ids, lab, att = pad([reqs[i][3] for i in idx])
        logits = model(input_ids=ids, attention_mask=att).logits.float()
        lp = torch.log_softmax(logits[:, :-1], -1)
        tgt = lab[:, 1:]
        mask = tgt != -100
        tok_lp = lp.gather(-1, tgt.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        am = logits[:, :-1].argmax(-1)
        for k, i in enumerate(idx):
            m = mask[k]
            if reqs[i][1] == "c":
                res[i] = tok_lp[k][m].sum().item()
            else:
                res[i] = bool((am[k][m] == tgt[k][m]).all().item())
    scores = {row["task"]: [] for row in TEST}
    by_row = {}
    for i, (r, kind, j, s) in enumerate(reqs):
        by_row.setdefault(r, []).append((kind, j, res[i]))
    for r, row in enumerate(TEST):
        items = by_row.get(r, [])
        if row.get("choices"):
            vals = [v for (k, j, v) in sorted(items, key=lambda x: x[1]) if k == "c"]
            best = max(range(len(vals)), key=lambda j: (vals[j], -j))
            scores[row["task"]].append(1.0 if best == row["truth"] else 0.0)
        else:
            scores[row["task"]].append(1.0 if any(v for (k, j, v) in items if k == "g") else 0.0)
    task_scores = {t: 100 * sum(v) / len(v) for t, v in scores.items()}
    model.train()
    return sum(task_scores.values()) / len(task_scores), task_scores


def run(mode, seed, train=True):
    torch.manual_seed(seed)
    dtype = torch.bfloat16 if mode == "bf16" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(MODEL, dtype=dtype).to(dev)
    if not train:
        return evaluate(model)
    cfg = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0,
                     target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    model = get_peft_model(model, cfg)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    steps = math.ceil(len(TRAIN) / 16)
    sched = get_cosine_schedule_with_warmup(opt, 30, steps)
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(TRAIN), generator=g).tolist()
    model.train()
    losses = []
    for s in range(steps):
        batch = [TRAIN[i] for i in perm[s * 16:(s + 1) * 16]]
        ids, lab, att = pad(batch)
        loss = model(input_ids=ids, attention_mask=att, labels=lab).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
    avg, ts = evaluate(model)
    return avg, ts, sum(losses[-10:]) / 10


results = []
t0 = time.time()
for mode in ["bf16", "fp32"]:
    avg, ts = run(mode, 0, train=False)
    print(f"base {mode}: avg {avg:.2f} {ts}", flush=True)
    results.append({"mode": mode, "seed": None, "avg": avg, "tasks": ts})
seeds = [int(x) for x in sys.argv[3].split(",")]
for seed in seeds:
    for mode in ["bf16", "fp32"]:
        avg, ts, last = run(mode, seed)
        print(f"lora {mode} seed {seed}: avg {avg:.2f} last10 loss {last:.3f} {({k: round(v, 1) for k, v in ts.items()})} t={time.time()-t0:.0f}s", flush=True)
        results.append({"mode": mode, "seed": seed, "avg": avg, "tasks": ts, "last10": last})
        json.dump(results, open(os.path.join(out_dir, "results.json"), "w"), indent=1)
