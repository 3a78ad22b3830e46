"""Replace the reactions of a positive-viral run with other wording.

Usage: python3 swap_viral_reactions.py RUN_DIR PHRASES_FILE OUT_NDJSON

RUN_DIR is one `positive_viral-<seed>/` folder written by `flashpoint eval families --pool tune
--family positive_viral --write-runs DIR`; its reactions are recognised by the tuning pool's
reaction phrases (src/eval/families/phrases.rs, TUNE, `viral_reaction`) and each is replaced
by a random line of PHRASES_FILE with "Zentra" taken out (the reactions name no brand).
"""
import json, re, random, sys, os
tmpl = ["faith in humanity restored","needed this today 🥹","give that person a raise","ok who's cutting onions","pure wholesome content","more stories like this pls","aww this made me tear up","what a gem","absolute sweetheart","sending this to my mum"]
dev = [l.strip().replace("the Zentra ", "the ").replace("Zentra ", "").replace(" Zentra", "") for l in open(sys.argv[2]) if l.strip()]
R = [re.compile(r"^(?P<pre>.*?)" + re.escape(t) + r"(?P<post>.*)$") for t in tmpl]
run = sys.argv[1]; out = sys.argv[3]
rnd = random.Random(7); n = 0
with open(os.path.join(run, "mentions.ndjson")) as f, open(out, "w") as o:
    for line in f:
        m = json.loads(line)
        for r in R:
            mm = r.match(m["text"])
            if mm:
                m["text"] = mm.group("pre") + rnd.choice(dev) + mm.group("post"); n += 1; break
        o.write(json.dumps(m, ensure_ascii=False) + "\n")
print(n, file=sys.stderr)
