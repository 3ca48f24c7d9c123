// Runs jobs on a real llama.cpp (node-llama-cpp's prebuilt CPU build) and prints the results as
// JSON on stdout, {"results": [one per job]}. Driven by the Go test llamacpp_test.go (and bench
// --compare llamacpp); the JSON file named on the command line is {"jobs": [job, ...]}, a job
//
//   {"model": "m.gguf", "loras": [{"path": "a.gguf", "scale": 1}], "threads": 1, "contextSize": 512, "kvF32": true,
//    "tokenize": ["text", ...],                       -> "tokenize": [[ids], ...] (special tokens parsed, no BOS)
//    "generate": [{"ids": [...], "maxNew": 16}, ...], -> "generate": [{"ids": [...], "seconds": s}]
//    "logitsDir": "dir",                              -> dir/gen<i>.f32: the logits before each generated token
//    "perplexity": {"ids": [...]},                    -> "perplexity": {"nll": sum, "n": count}
//    "bench": {"ids": [...], "decode": 64}}           -> "bench": {"promptSeconds": s, "decodeSeconds": s, "decoded": n}
//
// Greedy decoding is llama.cpp's own sampler at temperature 0; logits are the raw ones it samples from.
import fs from "node:fs";
import path from "node:path";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const {jobs} = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: Math.max(...jobs.map((j) => j.threads ?? 1))});
const results = [];
for (const job of jobs) results.push(await runJob(job));
process.stdout.write(JSON.stringify({results}) + "\n");
await llama.dispose();

async function runJob(job) {
  const model = await llama.loadModel({modelPath: job.model, gpuLayers: 0});
  const ctxOpts = {contextSize: job.contextSize ?? 512, batchSize: job.contextSize ?? 512, threads: job.threads ?? 1, sequences: 1,
    flashAttention: false};
  // The KV cache holds f32 keys and values when asked (llama.cpp's default is f16, which alone moves
  // the logits by ~5e-3 on base-19m).
  if (job.kvF32) Object.assign(ctxOpts, {experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32"});
  if (job.loras?.length) ctxOpts.lora = {adapters: job.loras.map((l) => ({filePath: l.path, scale: l.scale ?? 1}))};
  const context = await model.createContext(ctxOpts);
  const out = {};
  if (job.tokenize) out.tokenize = job.tokenize.map((t) => Array.from(model.tokenize(t, true)));

  // step evaluates ids on the sequence and returns llama.cpp's greedy next token, and the full logits
  // vector when wanted.
  const step = async (seq, ids, wantLogits) => {
    const input = ids.map((id, i) => i < ids.length - 1 ? id : [id, {generateNext: {token: true, logits: wantLogits}}]);
    const res = await seq.controlledEvaluate(input);
    const next = res[ids.length - 1].next;
    let logits = null;
    if (wantLogits) {
      logits = new Float32Array(model.tokens.count ?? next.logits.size);
      for (const [tok, v] of next.logits) logits[tok] = v;
    }
    return {token: next.token, logits};
  };

  if (job.generate) {
    out.generate = [];
    for (const [gi, g] of job.generate.entries()) {
      const seq = context.getSequence();
      const gen = [];
      const chunks = [];
      const t0 = performance.now();
      let r = await step(seq, g.ids, !!job.logitsDir);
      for (;;) {
        if (r.logits) chunks.push(Buffer.from(r.logits.buffer));
        if (r.token == null) break;
        gen.push(r.token);
        if (gen.length >= g.maxNew || model.isEogToken(r.token)) break;
        r = await step(seq, [r.token], !!job.logitsDir);
      }
      out.generate.push({ids: gen, seconds: (performance.now() - t0) / 1000});
      if (job.logitsDir) fs.writeFileSync(path.join(job.logitsDir, `gen${gi}.f32`), Buffer.concat(chunks));
      seq.dispose();
    }
  }

  if (job.perplexity) {
    // log p(ids[t+1] | ids[..t]) from the target's logit, the top logit and the sum of exp(logit - top).
    const ids = job.perplexity.ids;
    const seq = context.getSequence();
    const input = ids.slice(0, -1).map((id, t) => [id, {generateNext: {logits: {filter: {tokens: [ids[t + 1]], includeTop: 1}}, totalLogitWeight: true}}]);
    const res = await seq.controlledEvaluate(input);
    let nll = 0;
    for (let t = 0; t < input.length; t++) {
      const next = res[t].next;
      const top = next.logits.values().next().value;
      const target = next.logits.get(ids[t + 1]);
      nll -= target - top - Math.log(next.totalLogitWeight);
    }
    out.perplexity = {nll, n: input.length};
    seq.dispose();
  }

  if (job.bench) {
    const seq = context.getSequence();
    const b = job.bench;
    let t0 = performance.now();
    let r = await step(seq, b.ids, false);
    const promptSeconds = (performance.now() - t0) / 1000;
    t0 = performance.now();
    let n = 0;
    for (; n < b.decode; n++) r = await step(seq, [r.token], false);
    out.bench = {promptSeconds, decodeSeconds: (performance.now() - t0) / 1000, decoded: n};
    seq.dispose();
  }

  await context.dispose();
  await model.dispose();
  return out;
}
