#!/usr/bin/env python3
"""Fine-tune MiniLM-L6 (all-MiniLM-L6-v2 weights) for 3-way tweet sentiment, export to ONNX, int8.

Data rules mirror src/score/sentiment/train.rs so the Rust `linear` model and this model train
on the same rows:
  * every `twitter-201*.tsv` in the SemEval-2017 folder, read in file-name order;
  * lines `id TAB label TAB text`, malformed lines skipped, literal `\\uXXXX` escapes decoded;
  * deduplicated by id (first file wins), ids of the SemEval-2017 test file excluded;
  * `twitter-2016dev-A.tsv` + `twitter-2016devtest-A.tsv` held out as the dev set, read first.
Model selection (epoch / checkpoint) uses the dev set only; the test file is scored once at the
end for reporting.

Labels: 0 negative, 1 neutral, 2 positive (the order of `linear::LABELS` in the Rust code).

Usage (CPU; see models/training/README.md):
  HF_HUB_OFFLINE=1 python models/training/finetune_minilm.py \
      --data ../shared/data/sentiment/semeval2017 --base <dir with config.json + safetensors> \
      --ckpt "$MINILM_CKPT_DIR" --out models/minilm
  (add --export-only to skip training and export/evaluate the checkpoint in --ckpt)
"""

import argparse
import hashlib
import json
import math
import os
import random
import re
import shutil
import sys
import time

import numpy as np
import torch

LABELS = ["negative", "neutral", "positive"]
TEST_FILE = "SemEval2017-task4-test.subtask-A.english.txt"
DEV_FILES = ["twitter-2016dev-A.tsv", "twitter-2016devtest-A.tsv"]


# Twitter placeholders, the rule of `normalise` in src/score/sentiment/onnx.rs (keep them equal):
# a URL ("http://", "https://" or "www." and the non-blank run after it) becomes "http", then
# an @handle ("@" and a run of ASCII letters, digits, "_") becomes "@user". Blank = the six
# ASCII whitespace characters. Shorter inputs (test tweets: 35.8 -> 25.5 tokens) and no
# meaningless URL pieces; TweetEval and its baselines use the same placeholders.
URL_RE = re.compile(r"(?:https?://|www\.)[^ \t\n\x0b\x0c\r]+")
USER_RE = re.compile(r"@[A-Za-z0-9_]+")


def normalise(text):
    return USER_RE.sub("@user", URL_RE.sub("http", text))


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def unescape(s):
    """Decode literal \\uXXXX escapes (with surrogate pairs) exactly like train.rs `unescape`."""
    if "\\u" not in s:
        return s

    def hex4(t):
        h = t[2:6]
        if len(h) != 4:
            return None
        try:
            # from_str_radix accepts a leading '+', Python int() also accepts '_'/spaces: guard.
            if not all(c in "0123456789abcdefABCDEF" for c in h):
                return None
            return int(h, 16)
        except ValueError:
            return None

    out = []
    rest = s
    while True:
        at = rest.find("\\u")
        if at < 0:
            break
        out.append(rest[:at])
        t = rest[at:]
        c = hex4(t)
        if c is not None and 0xD800 <= c <= 0xDBFF:
            r = t[6:]
            lo = hex4(r) if r.startswith("\\u") else None
            if lo is not None and 0xDC00 <= lo <= 0xDFFF:
                out.append(chr(0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00)))
                rest = t[12:]
            else:
                out.append("\ufffd")
                rest = t[6:]
        elif c is not None:
            out.append("\ufffd" if 0xDC00 <= c <= 0xDFFF else chr(c))
            rest = t[6:]
        else:
            out.append("\\u")
            rest = t[2:]
    out.append(rest)
    return "".join(out)


def read_semeval_file(path):
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", errors="replace")
    rows = []
    # str.lines() in Rust splits on \n and drops one trailing \r.
    for line in text.split("\n"):
        if line.endswith("\r"):
            line = line[:-1]
        f = line.split("\t", 2)
        if len(f) < 3:
            continue
        label = f[1].strip()
        if label not in LABELS:
            continue
        rows.append((f[0].strip(), LABELS.index(label), unescape(f[2].rstrip("\t\r "))))
    return rows


def load_corpus(d):
    names = sorted(n for n in os.listdir(d) if n.startswith("twitter-201") and n.endswith(".tsv"))
    test_path = os.path.join(d, TEST_FILE)
    seen = set(r[0] for r in read_semeval_file(test_path)) if os.path.exists(test_path) else set()
    dev, train, dups = [], [], 0
    for n in DEV_FILES:
        if n not in names:
            continue
        for r in read_semeval_file(os.path.join(d, n)):
            if r[0] in seen:
                dups += 1
            else:
                seen.add(r[0])
                dev.append(r)
    for n in names:
        if n in DEV_FILES:
            continue
        for r in read_semeval_file(os.path.join(d, n)):
            if r[0] in seen:
                dups += 1
            else:
                seen.add(r[0])
                train.append(r)
    return train, dev, dups


def macro_metrics(gold, pred):
    gold = np.asarray(gold)
    pred = np.asarray(pred)
    recalls, f1 = [], {}
    for c in range(3):
        tp = int(((pred == c) & (gold == c)).sum())
        n_gold = int((gold == c).sum())
        n_pred = int((pred == c).sum())
        r = tp / n_gold if n_gold else 0.0
        p = tp / n_pred if n_pred else 0.0
        recalls.append(r)
        f1[c] = 2 * p * r / (p + r) if p + r else 0.0
    return {
        "macro_recall": float(np.mean(recalls)),
        "accuracy": float((gold == pred).mean()),
        "f1_pn": (f1[0] + f1[2]) / 2,
        "n": int(len(gold)),
    }


def batches_by_length(rows, tok, max_len, bs):
    """Inference batches over rows sorted by length (less padding); yields (indices, enc)."""
    order = sorted(range(len(rows)), key=lambda i: len(rows[i][2]))
    for s in range(0, len(order), bs):
        idx = order[s : s + bs]
        enc = tok([rows[i][2] for i in idx], truncation=True, max_length=max_len,
                  padding=True, return_tensors="pt")
        yield idx, enc


@torch.no_grad()
def predict_torch(model, tok, rows, max_len, bs=64):
    model.eval()
    pred = [0] * len(rows)
    for idx, enc in batches_by_length(rows, tok, max_len, bs):
        logits = model(**enc).logits
        for i, p in zip(idx, logits.argmax(-1).tolist()):
            pred[i] = p
    return pred


def logits_onnx(path, tok, rows, max_len, bs=16):
    """Logits of every row from an ONNX model; batches of 16 by length, as the Rust loader."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    out = np.zeros((len(rows), 3), dtype=np.float32)
    for idx, enc in batches_by_length(rows, tok, max_len, bs):
        feeds = {k: enc[k].numpy().astype(np.int64) for k in
                 ("input_ids", "attention_mask", "token_type_ids")}
        out[idx] = sess.run(["logits"], feeds)[0]
    return out


def predict_onnx(path, tok, rows, max_len, bs=16):
    return logits_onnx(path, tok, rows, max_len, bs).argmax(-1).tolist()


def choose_offsets(gold, logits, step=0.1, steps=10):
    """Class-bias offsets (negative, 0, positive) maximising macro-recall, as the Rust
    `train::choose_offsets`: a grid of +-steps*step from 0 outwards, ties keep the smallest."""
    outwards = [0] + [s * k for k in range(1, steps + 1) for s in (1, -1)]
    best = ((0.0, 0.0, 0.0), macro_metrics(gold, logits.argmax(-1))["macro_recall"])
    for i in outwards:
        for j in outwards:
            o = (round(i * step, 6), 0.0, round(j * step, 6))
            r = macro_metrics(gold, (logits + np.array(o, dtype=np.float32)).argmax(-1))["macro_recall"]
            if r > best[1] + 1e-12:
                best = (o, r)
    return best


def offsets_generalise(gold, logits, reps=10, seed=0):
    """Mean macro-recall gain of offsets chosen on one random half of dev and scored on the
    other (both ways, `reps` splits): offsets are kept only when this is positive."""
    gold = np.asarray(gold)
    rng = np.random.default_rng(seed)
    gains = []
    for _ in range(reps):
        perm = rng.permutation(len(gold))
        a, b = perm[: len(gold) // 2], perm[len(gold) // 2:]
        for x, y in ((a, b), (b, a)):
            o, _ = choose_offsets(gold[x], logits[x])
            with_o = macro_metrics(gold[y], (logits[y] + np.array(o, dtype=np.float32)).argmax(-1))
            gains.append(with_o["macro_recall"] - macro_metrics(gold[y], logits[y].argmax(-1))["macro_recall"])
    return float(np.mean(gains))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def train(args, train_rows, dev_rows):
    from transformers import AutoTokenizer, BertForSequenceClassification, get_linear_schedule_with_warmup

    tok = AutoTokenizer.from_pretrained(args.base)
    model = BertForSequenceClassification.from_pretrained(
        args.base, num_labels=3,
        id2label={i: l for i, l in enumerate(LABELS)}, label2id={l: i for i, l in enumerate(LABELS)})
    counts = np.bincount([r[1] for r in train_rows], minlength=3)
    if args.class_weights:
        w = torch.tensor(len(train_rows) / (3 * counts), dtype=torch.float32)
    else:
        w = None
    loss_fn = torch.nn.CrossEntropyLoss(weight=w)
    log(f"train {len(train_rows)} class counts {counts.tolist()} weights {None if w is None else w.tolist()}")

    rng = random.Random(args.seed)
    steps_per_epoch = math.ceil(len(train_rows) / args.batch_size)
    if args.max_steps_per_epoch:
        steps_per_epoch = min(steps_per_epoch, args.max_steps_per_epoch)
    total = steps_per_epoch * args.epochs
    t0 = time.time()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    if args.deadline_min:
        # Linear warm-up then linear decay to zero at the deadline, in wall-clock time: on a
        # shared CPU the step rate is unknown in advance, and a step-based schedule cut short
        # would stop at a high learning rate. The log records the steps actually made.
        budget = args.deadline_min * 60

        def factor(_step):
            f = (time.time() - t0) / budget
            return min(1.0, f / args.warmup) if f < args.warmup else max(0.0, (1 - f) / (1 - args.warmup))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    else:
        sched = get_linear_schedule_with_warmup(opt, int(total * args.warmup), total)
    best = (-1.0, None)
    history = []
    step = 0

    def evaluate(tag):
        nonlocal best
        te = time.time()
        m = macro_metrics([r[1] for r in dev_rows], predict_torch(model, tok, dev_rows, args.max_len))
        m.update(tag=tag, step=step, minutes=round((time.time() - t0) / 60, 1))
        history.append(m)
        log(f"DEV {tag}: macro-recall {m['macro_recall']:.4f} acc {m['accuracy']:.4f} "
            f"F1-PN {m['f1_pn']:.4f} (eval {time.time() - te:.0f}s)")
        if m["macro_recall"] > best[0]:
            best = (m["macro_recall"], tag)
            model.save_pretrained(args.ckpt)
            tok.save_pretrained(args.ckpt)
            with open(os.path.join(args.ckpt, "selection.json"), "w") as f:
                json.dump({"best": tag, "history": history, "args": vars(args)}, f, indent=1)
            log(f"saved best checkpoint ({tag}) to {args.ckpt}")
        model.train()

    lengths = [len(r[2]) for r in train_rows]
    stop = False
    for epoch in range(args.epochs):
        # Shuffle, then sort within pools of 50 batches by length and shuffle the batches:
        # random batches with little padding (CPU time goes mostly into padded positions).
        order = list(range(len(train_rows)))
        rng.shuffle(order)
        pool = args.batch_size * 50
        batches = []
        for s in range(0, len(order), pool):
            chunk = sorted(order[s : s + pool], key=lambda i: lengths[i])
            batches += [chunk[j : j + args.batch_size] for j in range(0, len(chunk), args.batch_size)]
        rng.shuffle(batches)
        model.train()
        for b in range(steps_per_epoch):
            idx = batches[b]
            enc = tok([train_rows[i][2] for i in idx], truncation=True, max_length=args.max_len,
                      padding=True, return_tensors="pt")
            y = torch.tensor([train_rows[i][1] for i in idx])
            loss = loss_fn(model(**enc).logits, y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if step % 50 == 0:
                el = time.time() - t0
                log(f"epoch {epoch + 1} step {step}/{total} loss {loss.item():.4f} lr {sched.get_last_lr()[0]:.2e} "
                    f"{step * args.batch_size / el:.1f} ex/s, eta {(total - step) * el / step / 60:.1f} min")
            if args.deadline_min and time.time() - t0 > args.deadline_min * 60:
                log(f"deadline of {args.deadline_min} min reached at step {step}/{total}: stopping")
                stop = True
                break
            if args.eval_every and step % args.eval_every == 0 and b + 1 < steps_per_epoch:
                evaluate(f"epoch {epoch + 1} step {step}")
        evaluate(f"epoch {epoch + 1} end (step {step})")
        if stop:
            break
    log(f"best dev macro-recall {best[0]:.4f} at {best[1]}")


def export(args, dev_rows, test_rows):
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer
    from transformers import AutoTokenizer, BertForSequenceClassification

    tok = AutoTokenizer.from_pretrained(args.ckpt)
    model = BertForSequenceClassification.from_pretrained(args.ckpt).eval()
    os.makedirs(args.out, exist_ok=True)
    fp32 = os.path.join(args.ckpt, "model.fp32.onnx")
    fused = os.path.join(args.ckpt, "model.fused.onnx")
    int8 = os.path.join(args.out, "model.int8.onnx")
    enc = tok(["an example tweet", "another one, a bit longer"], padding=True, return_tensors="pt")

    class Wrap(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).logits

    names = ["input_ids", "attention_mask", "token_type_ids"]
    torch.onnx.export(
        Wrap(model), tuple(enc[n] for n in names), fp32, opset_version=17,
        input_names=names, output_names=["logits"],
        dynamic_axes={**{n: {0: "batch", 1: "seq"} for n in names}, "logits": {0: "batch"}})
    # Optional: ONNX Runtime's BERT fusions (EmbedLayerNormalization, Attention,
    # SkipLayerNormalization, BiasGelu) before quantisation, so the fused Attention is
    # quantised as one QAttention op. Off by default: slower on the 2-vCPU AVX2 machine.
    if args.fuse:
        cfg = model.config
        opt = optimizer.optimize_model(fp32, model_type="bert", num_heads=cfg.num_attention_heads,
                                       hidden_size=cfg.hidden_size, opt_level=1)
        opt.save_model_to_file(fused)
        log(f"fused: {opt.get_fused_operator_statistics()}")
        source = fused
    else:
        source = fp32
    # Per-channel weight scales: one scale per output column instead of per tensor.
    quantize_dynamic(source, int8, weight_type=QuantType.QInt8, per_channel=args.per_channel,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    # tokenizer.json with truncation at max_len, padding left to the caller (pads per batch).
    shutil.copy(os.path.join(args.ckpt, "tokenizer.json"), os.path.join(args.out, "tokenizer.json"))
    log(f"exported {fp32} ({os.path.getsize(fp32) / 1e6:.1f} MB) and {int8} "
        f"({os.path.getsize(int8) / 1e6:.1f} MB)")

    results = {}
    # Class-bias offsets chosen on dev for the int8 model, added to its classifier bias (the
    # Rust `linear` model does the same), but only when offsets chosen on half of dev also
    # help on the other half: otherwise they fit dev noise.
    if dev_rows and args.offsets:
        gold = [r[1] for r in dev_rows]
        logits = logits_onnx(int8, tok, dev_rows, args.max_len)
        offsets, r = choose_offsets(gold, logits)
        gain = offsets_generalise(gold, logits)
        results["offsets"] = {"neg_neu_pos": list(offsets), "dev_macro_recall": r,
                              "split_half_gain": gain, "applied": gain > 0}
        log(f"class-bias offsets {offsets}: dev macro-recall {r:.4f}; split-half gain {gain:+.4f}"
            f" -> {'applied' if gain > 0 else 'not applied'}")
    if results.get("offsets", {}).get("applied"):
        m = onnx.load(int8)
        bias = next(i for i in m.graph.initializer if i.name.endswith("classifier.bias"))
        b = onnx.numpy_helper.to_array(bias) + np.array(offsets, dtype=np.float32)
        bias.CopyFrom(onnx.numpy_helper.from_array(b.astype(np.float32), bias.name))
        onnx.save(m, int8)

    for name, rows in (("dev", dev_rows), ("test", test_rows)):
        if not rows:
            continue
        gold = [r[1] for r in rows]
        t = time.time()
        results[f"fp32_torch_{name}"] = macro_metrics(gold, predict_torch(model, tok, rows, args.max_len))
        t1 = time.time()
        results[f"int8_onnx_{name}"] = macro_metrics(gold, predict_onnx(int8, tok, rows, args.max_len))
        log(f"{name}: torch fp32 {t1 - t:.0f}s, int8 onnx {time.time() - t1:.0f}s")
    for k, m in results.items():
        if "macro_recall" in m:
            log(f"{k:>16}: macro-recall {m['macro_recall']:.4f} acc {m['accuracy']:.4f} "
                f"F1-PN {m['f1_pn']:.4f} n {m['n']}")
    results["sha256"] = {"model.int8.onnx": sha256(int8),
                         "tokenizer.json": sha256(os.path.join(args.out, "tokenizer.json"))}
    # Checked by the Rust loader (src/score/sentiment/onnx.rs) before the model is used.
    with open(os.path.join(args.out, "sha256sums.txt"), "w") as f:
        for name, digest in results["sha256"].items():
            f.write(f"{digest}  {name}\n")
    with open(os.path.join(args.ckpt, "metrics.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(json.dumps(results["sha256"], indent=1))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data/sentiment/semeval2017")
    p.add_argument("--base", required=True, help="folder with the base MiniLM weights + tokenizer")
    p.add_argument("--ckpt", required=True, help="where the best HF checkpoint is written")
    p.add_argument("--out", default="models/minilm", help="where model.int8.onnx + tokenizer.json go")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--max-steps-per-epoch", type=int, default=0)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--warmup", type=float, default=0.06)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-len", type=int, default=64)
    p.add_argument("--eval-every", type=int, default=0, help="dev evaluation every N steps too")
    p.add_argument("--class-weights", action="store_true", help="class-balanced cross-entropy")
    p.add_argument("--seed", type=int, default=17)
    p.add_argument("--deadline-min", type=float, default=0,
                   help="stop training (then evaluate and export) after this many minutes")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--export-only", action="store_true")
    p.add_argument("--no-export", action="store_true")
    p.add_argument("--fuse", action="store_true",
                   help="apply ONNX Runtime's BERT fusions before quantising (measured slower on "
                        "an AVX2 CPU: 527 vs 641 texts/s; see models/minilm/MODEL_CARD.md)")
    p.add_argument("--no-per-channel", dest="per_channel", action="store_false",
                   help="one int8 scale per weight tensor instead of per output channel")
    p.add_argument("--no-offsets", dest="offsets", action="store_false",
                   help="do not add dev-chosen class-bias offsets to the classifier")
    p.add_argument("--train-raw", action="store_true",
                   help="train on raw text, without the URL/@handle placeholders (how the shipped "
                        "epochs 1 and 2 were trained); dev and test are always normalised, as "
                        "the Rust loaders do at inference")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train_rows, dev_rows, dups = load_corpus(args.data)
    test_path = os.path.join(args.data, TEST_FILE)
    test_rows = read_semeval_file(test_path) if os.path.exists(test_path) else []
    dev_rows, test_rows = ([(i, y, normalise(t)) for i, y, t in rows] for rows in (dev_rows, test_rows))
    if not args.train_raw:
        train_rows = [(i, y, normalise(t)) for i, y, t in train_rows]
    log(f"train {len(train_rows)} dev {len(dev_rows)} test {len(test_rows)} duplicates {dups}")
    if not args.export_only:
        train(args, train_rows, dev_rows)
    if not args.no_export:
        export(args, dev_rows, test_rows)


if __name__ == "__main__":
    sys.exit(main())
