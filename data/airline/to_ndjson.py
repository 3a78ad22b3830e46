"""Turn Figure Eight's "Twitter US Airline Sentiment" CSV into flashpoint mention NDJSON.

Usage: python3 to_ndjson.py Tweets.csv > airline-week.ndjson

The CSV is not bundled: its licence (CC BY-NC-SA 4.0) is non-commercial. Any copy with the
columns `tweet_id`, `text` and `airline_sentiment` works (`name`, the author, when present).
Event time comes from the tweet id, a Twitter snowflake (milliseconds since 2010-11-04
01:42:54.657 UTC in its upper bits), so it is exact even where a copy rounded
`tweet_created` to the minute; a row whose id is not an integer is skipped and counted on
stderr. Output is sorted by event time, one mention per tweet, `source` "x".
"""
import csv
import datetime
import json
import sys

TWITTER_EPOCH_MS = 1288834974657


def main(path):
    rows, skipped = [], 0
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            try:
                tweet_id = int(row["tweet_id"])
            except (KeyError, ValueError):
                skipped += 1
                continue
            ms = (tweet_id >> 22) + TWITTER_EPOCH_MS
            at = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
            author = (row.get("name") or "").strip() or f"user{tweet_id}"
            rows.append((ms, {
                "id": str(tweet_id),
                "source": "x",
                "created_at": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z",
                "text": row.get("text", ""),
                "author": {"id": author, "handle": "@" + author},
                "kind": "post",
                "lang": "en",
            }))
    rows.sort(key=lambda r: r[0])
    out = sys.stdout
    for _, mention in rows:
        out.write(json.dumps(mention, ensure_ascii=False) + "\n")
    print(f"{len(rows)} mentions, {skipped} rows skipped", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
