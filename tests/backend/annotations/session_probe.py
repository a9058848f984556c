"""Scripted annotation sessions in a process of their own, for tests that SIGKILL them (Qt-free).

``python tests/backend/annotations/session_probe.py hold JSON --edits N``
    opens JSON, prints ``OPENED writable|read-only <reason>``, tries N keypoint edits (one
    ``CONFIRMED <n> <digest>`` or ``REFUSED <n> <reason>`` line each), prints ``READY`` and
    waits to be killed.

``python tests/backend/annotations/session_probe.py fsize JSON``
    one edit, one edit while the process may not grow files (a full disk: RLIMIT_FSIZE), one
    more; prints the document digest and journal size before and after the failing one.

``python tests/backend/annotations/session_probe.py fuzz JSON --seed S``
    opens JSON (recovering a journal), prints ``RECOVERED <applied> <digest>``, settles a
    recovery at random (keep / discard / leave it pending: ``STATE <digest>`` after it), then
    makes random edits forever, valid and invalid ones (boxes past the border, NaN, stale
    undos, ids in use), with random saves and autosaves. Before each edit it prints ``WILL <digest
    the document would have if the edit is confirmed>``, after it ``CONFIRMED <digest>`` or
    ``REFUSED``. A kill can fall anywhere, so after a kill the file + journal must give the last
    CONFIRMED digest, or the WILL digest of an edit that was under way.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from app.backend.annotations import AnnotationDocument, AnnotationSession, insert_op, remove_op, replace_op
from app.backend.annotations.ops import inverse
from app.backend.errors import UserFacingError

PROBE_PATH = Path(__file__).resolve()


def digest(doc: AnnotationDocument) -> str:
    """What a document holds, as one hash (key order and int/float spelling do not matter)."""
    text = json.dumps(doc.to_coco(), sort_keys=True, allow_nan=False)
    return hashlib.sha1(json.dumps(json.loads(text), sort_keys=True).encode()).hexdigest()[:16]


def say(*words: object) -> None:
    print(*words, flush=True)


def move_keypoint_op(doc: AnnotationDocument, image_id: int, k: int, x: float, y: float) -> dict:
    person = doc.person(image_id, 0)
    person.set_keypoint(k, x, y, 2)
    return replace_op(image_id, 0, doc.anns(image_id)[0], person.to_ann(), "move keypoint")


def hold(args: argparse.Namespace) -> None:
    session = AnnotationSession.open(args.json_file)
    say("OPENED", "read-only" if session.read_only else "writable", session.read_only_reason or "")
    ids = [i for i in session.doc.image_ids() if session.doc.anns(i)]
    for n in range(args.edits):
        op = move_keypoint_op(session.doc, ids[n % len(ids)], n % 17, 10.0 + n, 12.0 + n)
        try:
            session.apply(op)
        except UserFacingError as exc:
            say("REFUSED", n + 1, str(exc).replace("\n", " "))
            continue
        say("CONFIRMED", n + 1, digest(session.doc))
    say("READY")
    while True:
        time.sleep(1)


def random_op(rng: random.Random, doc: AnnotationDocument, history: list[dict]) -> dict:
    image_id = rng.choice(doc.image_ids())
    img = doc.image(image_id)
    w, h = float(img.get("width") or 64), float(img.get("height") or 48)
    anns = doc.anns(image_id)
    roll = rng.random()
    if roll < 0.1 and history:
        return inverse(rng.choice(history[-5:]))  # an undo, perhaps of an edit no longer on top
    if not anns or roll < 0.2:
        person = doc.person(image_id, 0) if anns else None
        ann = copy.deepcopy(anns[0]) if anns else {"category_id": 1, "iscrowd": 0, "bbox": [1, 1, 10, 10]}
        ann["id"] = doc.new_ann_id() if rng.random() < 0.9 else (person.ann_id if person else 1)  # an id in use
        ann["image_id"] = image_id
        return insert_op(image_id, rng.randint(0, len(anns)), ann, "insert")
    index = rng.randrange(len(anns))
    if roll < 0.3:
        return remove_op(image_id, index, anns[index], "remove")
    person = doc.person(image_id, index)
    kind = rng.random()
    if kind < 0.35:
        # a box anywhere, a fifth of them past the border
        bw, bh = rng.uniform(1, w / 2), rng.uniform(1, h / 2)
        x = rng.uniform(0, w - bw) + (rng.choice([-1, 1]) * w if rng.random() < 0.2 else 0)
        person.set_bbox(x, rng.uniform(0, h - bh), bw, bh)
    elif kind < 0.75:
        person.set_keypoint(rng.randrange(17), rng.uniform(0, w), rng.uniform(0, h), rng.choice([1, 2]))
    elif kind < 0.85 and person.dp:
        p = person.dp[rng.randrange(len(person.dp))]
        p.u, p.v = rng.random(), rng.random()
    elif kind < 0.92:
        person.set_keypoint(rng.randrange(17), math.nan, 3.0, 2)  # refused: not a finite number
    else:
        person.extra["note"] = rng.choice(["a", "b", 1, 2.5, [1, 2]])
    return replace_op(image_id, index, anns[index], person.to_ann(), "replace")


def fuzz(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    session = AnnotationSession.open(args.json_file, autosave_interval_s=args.autosave_interval)
    assert not session.read_only, session.read_only_reason
    say("RECOVERED", session.recovered_ops, digest(session.doc))
    if session.recovery_pending:
        choice = rng.choice(["keep", "discard", "later"])
        if choice == "keep":
            session.keep_recovered()
        elif choice == "discard":
            session.discard_recovered()
    say("STATE", digest(session.doc))
    history: list[dict] = []
    n = 0
    while True:
        n += 1
        op = random_op(rng, session.doc, history)
        preview = copy.deepcopy(session.doc)
        try:
            preview.apply(json.loads(json.dumps(op, allow_nan=False)))
            say("WILL", digest(preview))
        except Exception:  # an edit the document cannot take; the session must refuse it
            say("WILL", "-")
        try:
            session.apply(op)
        except UserFacingError:
            say("REFUSED")
        else:
            history.append(op)
            say("CONFIRMED", digest(session.doc))
        if rng.random() < 0.05:
            session.save()
            say("SAVED", digest(session.doc))
        elif not session.recovery_pending:
            session.maybe_autosave()
        if n % 7 == 0:
            time.sleep(rng.random() * 0.01)


def fsize(args: argparse.Namespace) -> None:
    """One edit, then one under a file-size cap the journal line cannot fit in, then one more."""
    import os
    import resource
    import signal

    from app.backend.annotations.journal import journal_path_for

    session = AnnotationSession.open(args.json_file)
    session.apply(move_keypoint_op(session.doc, 1, 0, 9.0, 9.0))
    jpath = journal_path_for(session.source)
    say("BEFORE", digest(session.doc), jpath.stat().st_size)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the cap fails with EFBIG instead
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (jpath.stat().st_size + 40, hard))
    try:
        session.apply(move_keypoint_op(session.doc, 2, 1, 8.0, 8.0))
        say("CONFIRMED", digest(session.doc))
    except UserFacingError as exc:
        say("REFUSED", str(exc).replace("\n", " "))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    say("AFTER_FAILURE", digest(session.doc), jpath.stat().st_size)
    session.apply(move_keypoint_op(session.doc, 3, 2, 7.0, 7.0))
    say("LAST", digest(session.doc))
    os._exit(0)  # no close: the journal stays for the test to recover


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("hold", "fuzz", "fsize"))
    parser.add_argument("json_file")
    parser.add_argument("--edits", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--autosave-interval", type=float, default=0.02)
    args = parser.parse_args()
    {"hold": hold, "fuzz": fuzz, "fsize": fsize}[args.mode](args)


if __name__ == "__main__":
    main()
