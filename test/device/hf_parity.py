"""Cross-check of our TypeScript-built ONNX graphs against Hugging Face transformers' own CLIP and Llama code.

Not part of the product or of CI (the product needs no Python). It runs on the lent GPU machine, whose image has
torch, transformers, safetensors and onnxruntime: see test/device/README.md. Inputs: a checkpoint made by
scripts/make-tiny-checkpoint.ts and its conversion by scripts/convert.ts (fp32). Prints one JSON report.
"""
import json
import os
import sys

import numpy as np
import onnxruntime as ort
import torch
from safetensors.torch import load_file
from transformers import CLIPVisionModel, LlamaConfig, LlamaForCausalLM

ckpt, onnx_dir = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
cfg = json.load(open(os.path.join(ckpt, "config.json")))
manifest = json.load(open(os.path.join(onnx_dir, "manifest.json")))

# Vision tower exactly as the reference loads it: CLIPVisionModel from the vit/ folder named by mm_vision_tower.
vit_dir = os.path.normpath(os.path.join(ckpt, cfg["mm_vision_tower"]))
vision = CLIPVisionModel.from_pretrained(vit_dir).float().eval()

# LLM + projector from the main shards (the in-shard vision copy is ignored, as in the reference).
index_path = os.path.join(ckpt, "model.safetensors.index.json")
files = sorted(set(json.load(open(index_path))["weight_map"].values())) if os.path.exists(index_path) else ["model.safetensors"]
sd = {}
for f in files:
    sd.update({k: v.float() for k, v in load_file(os.path.join(ckpt, f)).items()})

H = cfg["hidden_size"]
proj = torch.nn.Sequential(
    torch.nn.Linear(cfg["mm_hidden_size"], H), torch.nn.LayerNorm(H), torch.nn.GELU(), torch.nn.Linear(H, H), torch.nn.LayerNorm(H)
)
proj.load_state_dict({k[len("model.mm_projector."):]: v for k, v in sd.items() if k.startswith("model.mm_projector.")})
proj.eval()

llama_cfg = LlamaConfig(**{k: v for k, v in cfg.items() if not k.startswith("mm_") and k not in ("architectures", "model_type")})
llama_cfg._attn_implementation = "eager"
llm = LlamaForCausalLM(llama_cfg).float().eval()
llm_sd = {k: v for k, v in sd.items() if k.startswith("model.layers.") or k in ("model.embed_tokens.weight", "model.norm.weight", "lm_head.weight")}
missing, unexpected = llm.load_state_dict(llm_sd, strict=False)
missing = [m for m in missing if "rotary_emb" not in m]

def rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(1e-12, np.max(np.abs(b))))

report = {"missing_llm_weights": missing, "unexpected_llm_weights": list(unexpected), "checks": {}}
so = ort.SessionOptions()
load = lambda name: ort.InferenceSession(os.path.join(onnx_dir, manifest["graphs"][name]["file"]), so, providers=["CPUExecutionProvider"])

rng = np.random.default_rng(0)
pixels = rng.standard_normal((1, 3, 448, 448)).astype(np.float32)
with torch.no_grad():
    hs = vision(torch.from_numpy(pixels), output_hidden_states=True).hidden_states
    feats_hf = proj(hs[cfg.get("mm_vision_select_layer", -2)][:, 1:]).numpy()
feats_onnx = load("vision").run(None, {"pixel_values": pixels})[0]
report["checks"]["vision_features"] = {"shape": list(feats_onnx.shape), "max_rel": rel(feats_onnx, feats_hf)}

ids = rng.integers(0, cfg["vocab_size"], size=12)
emb_onnx = load("embedTokens").run(None, {"input_ids": ids[None].astype(np.int64)})[0]
with torch.no_grad():
    emb_hf = llm.model.embed_tokens(torch.from_numpy(ids)[None]).numpy()
report["checks"]["embed_tokens"] = {"max_rel": rel(emb_onnx, emb_hf)}

# Splice the image block after the 4th token, as LLaVA does at the placeholder.
spliced = np.concatenate([emb_hf[:, :4], feats_hf, emb_hf[:, 4:]], axis=1).astype(np.float32)
S = spliced.shape[1]
dec = load("decoder")
L, kv, hd = manifest["dims"]["llm"]["numLayers"], manifest["dims"]["llm"]["numKvHeads"], manifest["dims"]["llm"]["headDim"]
max_len = S + 8
past = {f"past_key_values.{i}.{t}": np.zeros((1, kv, max_len, hd), np.float32) for i in range(L) for t in ("key", "value")}
out_names = [o.name for o in dec.get_outputs()]
res = dict(zip(out_names, dec.run(None, {"inputs_embeds": spliced, "attention_mask": np.ones((1, S), np.int64), **past})))
with torch.no_grad():
    hf = llm(inputs_embeds=torch.from_numpy(spliced), use_cache=True)
logits_hf = hf.logits[0, -1].numpy()
report["checks"]["prefill_logits"] = {"seq": S, "max_rel": rel(res["logits"][0, 0], logits_hf), "argmax_equal": int(np.argmax(res["logits"][0, 0])) == int(np.argmax(logits_hf))}

# Three cached decode steps, greedy, each compared with HF's own cached step.
cache = hf.past_key_values
tok = int(np.argmax(logits_hf))
steps = []
total = S
for step in range(3):
    with torch.no_grad():
        e = llm.model.embed_tokens(torch.tensor([[tok]]))
        h = llm(inputs_embeds=e, past_key_values=cache, use_cache=True)
    cache = h.past_key_values
    total += 1
    feeds = {"inputs_embeds": e.numpy(), "attention_mask": np.ones((1, total), np.int64)}
    feeds.update({f"past_key_values.{i}.{t}": res[f"present.{i}.{t}"] for i in range(L) for t in ("key", "value")})
    res = dict(zip(out_names, dec.run(None, feeds)))
    lh = h.logits[0, -1].numpy()
    steps.append({"max_rel": rel(res["logits"][0, 0], lh), "argmax_equal": int(np.argmax(res["logits"][0, 0])) == int(np.argmax(lh))})
    tok = int(np.argmax(lh))
report["checks"]["cached_decode_steps"] = steps
report["transformers"] = __import__("transformers").__version__
report["onnxruntime"] = ort.__version__
print(json.dumps(report, indent=1))
