"""The Canon Gate's evaluator (SPEC 6): it recommends, it never admits.

It scores a candidate record against existing canon for duplicates and contradictions.
The one evaluator here is deterministic and lexical, not a model: SQLite FTS5 retrieves
the canon records that share words with the candidate (bm25), and each is compared with
a cosine similarity over word counts. A near-duplicate scores low; a record that says
nearly the same words with a negation or a number changed is flagged as a possible
contradiction and scores low too. Another evaluator (a local model, say) can take its
place by implementing `Evaluator`.

Scores are integers in permille (0..1000): events hold no floats (SPEC 7).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

from cockpit.store import Store

WORD = re.compile(r"[A-Za-z0-9_]+(?:['.-][A-Za-z0-9_]+)*")
NUMBER = re.compile(r"\d+(?:\.\d+)?")
NEGATIONS = frozenset({"not", "no", "never", "none", "cannot", "without", "nor", "don't", "isn't"})
STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
        "we",
        "you",
        "they",
        "he",
        "she",
        "which",
        "what",
        "when",
        "where",
        "who",
        "how",
        "than",
        "then",
        "there",
        "these",
        "those",
        "been",
        "being",
        "do",
        "does",
        "did",
        "so",
        "such",
        "can",
        "may",
        "might",
        "must",
        "should",
        "would",
        "could",
        "",
    }
)
NEAREST = 5
RETRIEVE = 20
DUPLICATE_AT = 900  # similarity (permille) from which a record is a duplicate
CONTRADICTION_AT = 500  # similarity from which a changed negation or number contradicts
CONTRADICTION_SCORE = 250  # the most a possible contradiction can score


@dataclass(frozen=True)
class Nearest:
    canon_id: str
    similarity: int  # permille
    contradiction: str | None
    record: str

    def to_json(self) -> dict[str, Any]:
        return {
            "canon_id": self.canon_id,
            "similarity_permille": self.similarity,
            "contradiction": self.contradiction,
            "record": self.record,
        }


@dataclass(frozen=True)
class Evaluation:
    """The evaluator's recommendation: a score (permille; higher is better), why, and
    the nearest canon records."""

    score: int
    method: str
    detail: str
    nearest: list[Nearest] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "score_permille": self.score,
            "score": f"{self.score / 1000:.3f}",
            "method": self.method,
            "detail": self.detail,
            "nearest": [n.to_json() for n in self.nearest],
        }


class Evaluator(Protocol):
    """What the Canon Gate asks of an evaluator. It may withhold (a low score), never
    admit: the other checks decide as well."""

    method: str

    def evaluate(self, record: str, store: Store, exclude: str | None = None) -> Evaluation: ...


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def _terms(text: str) -> Counter[str]:
    return Counter(w for w in words(text) if w not in STOPWORDS and w not in NEGATIONS)


def cosine(a: Counter[str], b: Counter[str]) -> int:
    """Cosine similarity of two word-count vectors, in permille."""
    if not a or not b:
        return 0
    dot = sum(count * b[word] for word, count in a.items())
    norm = math.sqrt(sum(c * c for c in a.values())) * math.sqrt(sum(c * c for c in b.values()))
    return round(1000 * dot / norm) if norm else 0


def fts_query(text: str, *, any_word: bool = False, limit: int = 32) -> str:
    """An FTS5 MATCH expression for `text`: each word quoted (so no FTS syntax an agent or
    user typed is interpreted), all required, or any of them with `any_word`."""
    seen = list(dict.fromkeys(w for w in words(text) if w not in STOPWORDS))[:limit]
    quoted = ['"' + w.replace('"', '""') + '"' for w in seen]
    return (" OR " if any_word else " ").join(quoted)


def _contradiction(a: str, b: str) -> str | None:
    neg_a = {w for w in words(a) if w in NEGATIONS}
    neg_b = {w for w in words(b) if w in NEGATIONS}
    if bool(neg_a) != bool(neg_b):
        return "one says " + ("/".join(sorted(neg_a or neg_b))) + ", the other does not"
    nums_a, nums_b = NUMBER.findall(a), NUMBER.findall(b)
    if nums_a and nums_b and sorted(nums_a) != sorted(nums_b):
        return "the numbers differ (" + ", ".join(nums_a) + " vs " + ", ".join(nums_b) + ")"
    return None


class LexicalEvaluator:
    """FTS5 retrieval plus cosine similarity: deterministic, no model."""

    method = "lexical: fts5 bm25 retrieval, cosine over word counts (v1)"

    def evaluate(self, record: str, store: Store, exclude: str | None = None) -> Evaluation:
        query = fts_query(record, any_word=True)
        found = store.canon_search(query, limit=RETRIEVE) if query else []
        mine = _terms(record)
        scored = []
        for row in found:
            if row["id"] == exclude:
                continue
            similarity = cosine(mine, _terms(row["record"]))
            clash = (
                _contradiction(record, row["record"]) if similarity >= CONTRADICTION_AT else None
            )
            scored.append(Nearest(row["id"], similarity, clash, row["record"]))
        scored.sort(key=lambda n: (-n.similarity, n.canon_id))
        nearest = scored[:NEAREST]
        if not nearest:
            total = store.canon_count()
            return Evaluation(
                1000, self.method, f"no canon record shares a word with it ({total} in canon)"
            )
        top = nearest[0]
        clashes = [n for n in nearest if n.contradiction]
        score = novelty(top.similarity)
        if clashes:
            worst = max(clashes, key=lambda n: n.similarity)
            score = min(score, CONTRADICTION_SCORE)
            detail = f"possible contradiction of {worst.canon_id}: {worst.contradiction}"
        elif top.similarity >= DUPLICATE_AT:
            detail = f"near duplicate of {top.canon_id} (similarity {top.similarity / 1000:.3f})"
        else:
            detail = f"closest canon is {top.canon_id} (similarity {top.similarity / 1000:.3f})"
        return Evaluation(score, self.method, detail, nearest)


def novelty(similarity: int) -> int:
    """The score for a record whose nearest canon has `similarity` (permille): full marks
    up to half similar, then falling to 0 for an identical record (0.75 similar: 0.5)."""
    return max(0, 1000 - 2 * max(0, similarity - 500))
