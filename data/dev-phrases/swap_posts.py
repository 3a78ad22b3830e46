"""Replace the launch or sarcasm posts of a `flashpoint eval families --write-runs` run with
other wording.

Usage: python3 swap_posts.py KIND RUN_DIR PHRASES_FILE OUT_NDJSON    (KIND: launch | sarcasm)

RUN_DIR is one `product_launch-<seed>/` or `sarcasm_wave-<seed>/` folder written from the
TUNING pool; its posts of KIND are recognised by the tuning pool's templates
(src/eval/families/phrases.rs, TUNE) and each is replaced by a random line of PHRASES_FILE, with
"Zentra" replaced by the brand as the post named it. Everything else (background, timing,
authors, reposts, replies) is left as it is. See README.md in this folder.
"""
import json, re, random, sys, os
TEMPLATES = {
 "launch": [
 "the new {b} {x} looks gorgeous, want one",
 "{b} launch today and the {x} is a huge upgrade",
 "just watched the {b} keynote, very tempted",
 "preordered from {b} the second it dropped",
 "{b} finally did it, the new {x} is here 🎉",
 "hyped for the {b} release",
 "{b} new lineup is slick",
 "queueing outside {b} for the launch lol",
 ],
 "sarcasm": [
 "love how {b} makes me wait two hours for a reply, top notch",
 "wow {b}, another cancelled {x}, you really spoil me",
 "so grateful {b} broke my {x} again, what would i do without the drama",
 "amazing how {b} can lose the same {x} three times, talent",
 "10/10 customer service from {b}, still no answer after 4 days 🙃",
 "thanks {b} for the lovely surprise of no {x} this morning",
 "nothing says premium like {b} ignoring your emails for a week",
 "{b} really outdid themselves today, the {x} is a complete disaster 👏",
 "gotta hand it to {b}, failing at the {x} so consistently takes effort",
 ],
}
kind = sys.argv.pop(1)
tmpl = TEMPLATES[kind]
dev = [l.strip() for l in open(sys.argv[2]) if l.strip()]
def rx(t):
    s = re.escape(t).replace(re.escape("{b}"), r"(?P<b>\S+(?: \S+)?)").replace(re.escape("{x}"), r".+?")
    return re.compile(r"^(?P<pre>.*?)" + s + r"(?P<post>.*)$")
R = [rx(t) for t in tmpl]
run = sys.argv[1]; out = sys.argv[3]
truth = json.load(open(os.path.join(run, "truth.json")))["truth"]
st = truth["stories"][0]
rnd = random.Random(7)
n = 0
with open(os.path.join(run, "mentions.ndjson")) as f, open(out, "w") as o:
    for line in f:
        m = json.loads(line)
        t = m["text"]
        if m.get("kind") == "post":
            for r in R:
                mm = r.match(t)
                if mm:
                    b = mm.group("b")
                    m["text"] = mm.group("pre") + rnd.choice(dev).replace("Zentra", b) + mm.group("post")
                    n += 1
                    break
        o.write(json.dumps(m, ensure_ascii=False) + "\n")
print(n, file=sys.stderr)
