"""Layer 1 (config checks): answer and caption metrics for `vlmtrain eval`: pure Python, no torch.

Every metric takes the predictions and, per prediction, a list of references, and returns one corpus
score (a float):

    predictions = ["2 dogs", "a cat on a mat"]
    references  = [["two dogs", "2 dogs"], ["a cat sitting on a mat"]]
    compute_metrics(predictions, references, ["vqa_accuracy", "bleu"])
      -> {"vqa_accuracy": ..., "bleu": ...}

Scales: every metric is a fraction in [0, 1] except CIDEr, which keeps the COCO scale (0..10, where
1.0 is a typical good captioner). Where a well-kept library is the reference (sacrebleu for BLEU,
Google's rouge-score for ROUGE-L) it is called; the others are written here after their official code:

- anls: DocVQA/ST-VQA ANLS (Biten et al., ICCV 2019), threshold 0.5, lower-cased, whitespace collapsed.
- exact_match: prediction equals a reference after stripping and collapsing whitespace (case-sensitive).
- vqa_accuracy: the VQA challenge's min(1, #humans who said it / 3), averaged over the leave-one-out
  subsets of the references, with the official answer normalization (`vqa_normalize`, see metrics_vqa.py).
- bleu: sacrebleu corpus BLEU-4 (13a tokenization, case-sensitive), divided by 100.
- rouge_l: rouge-score's ROUGE-L F-measure (its default tokenizer, no stemming), best reference per
  sample, averaged over samples.
- cider: CIDEr-D as in the COCO caption evaluation (pycocoevalcap's cider_scorer), on COCO-style
  tokens (`coco_tokenize`); document frequencies come from the evaluated references themselves.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

from vlmtrain.errors import VlmTrainError
from vlmtrain.metrics_vqa import vqa_accuracy_one

Refs = Sequence[Sequence[str]]


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _need(module: str, package: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise VlmTrainError(
            f"this metric needs the {package!r} package, which is not installed; "
            f"install it with `pip install 'vlmkit[train]'` (or `pip install {package}`)"
        ) from exc


# ---------------------------------------------------------------- ANLS
def levenshtein(a: str, b: str) -> int:
    """Edit distance (insert, delete, substitute; each costs 1)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def anls_one(prediction: str, references: Sequence[str], threshold: float = 0.5) -> float:
    """1 - (smallest normalized edit distance to a reference), or 0 when that is below `threshold`.

    As in the DocVQA evaluation script: both sides stripped, lower-cased, whitespace collapsed; the
    distance is divided by the longer string's length; a similarity below the threshold scores 0
    (exactly 0.5 is kept).
    """
    pred = _collapse(prediction.lower())
    best = 0.0
    for ref in references:
        gold = _collapse(ref.lower())
        length = max(len(pred), len(gold))
        distance = 0.0 if length == 0 else levenshtein(pred, gold) / length
        best = max(best, 1.0 - distance)
    return best if best >= threshold else 0.0


def anls(predictions: Sequence[str], references: Refs) -> float:
    return _mean(anls_one(p, r) for p, r in zip(predictions, references, strict=True))


# ---------------------------------------------------------------- exact match, VQA accuracy
def exact_match(predictions: Sequence[str], references: Refs) -> float:
    return _mean(
        float(_collapse(p) in {_collapse(r) for r in refs})
        for p, refs in zip(predictions, references, strict=True)
    )


def vqa_accuracy(predictions: Sequence[str], references: Refs) -> float:
    return _mean(vqa_accuracy_one(p, r) for p, r in zip(predictions, references, strict=True))


# ---------------------------------------------------------------- BLEU (sacrebleu)
def bleu(predictions: Sequence[str], references: Refs) -> float:
    """sacrebleu corpus BLEU-4 / 100. Samples may have different numbers of references."""
    sacrebleu = _need("sacrebleu", "sacrebleu")
    width = max(len(r) for r in references)
    # sacrebleu takes reference *streams*; a None in a stream means "this sample has fewer references".
    streams = [[refs[k] if k < len(refs) else None for refs in references] for k in range(width)]
    return sacrebleu.corpus_bleu(list(predictions), streams).score / 100.0


# ---------------------------------------------------------------- ROUGE-L (rouge-score)
def rouge_l(predictions: Sequence[str], references: Refs) -> float:
    """Mean over samples of rouge-score's ROUGE-L F-measure against the best-matching reference."""
    rouge_scorer = _need("rouge_score.rouge_scorer", "rouge-score")
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    return _mean(
        scorer.score_multi(list(refs), pred)["rougeL"].fmeasure
        for pred, refs in zip(predictions, references, strict=True)
    )


# ---------------------------------------------------------------- CIDEr-D
# Tokens COCO's PTBTokenizer output drops (its PUNCTUATIONS list). Brackets become -lrb- etc. and are
# *kept*: the list names them in upper case but the tokenizer runs with -lowerCase, so they never match.
_PTB_DROP = {"''", "'", "``", "`", ".", "?", "!", ",", ":", "-", "--", "...", ";"}
_BRACKETS = {"(": "-lrb-", ")": "-rrb-", "{": "-lcb-", "}": "-rcb-", "[": "-lsb-", "]": "-rsb-"}
_TOKEN = re.compile(
    r"(?:[a-z]\.){2,}"  # abbreviations keep their dots: u.s. e.g.
    r"|n't|'(?:s|re|ve|ll|d|m)\b"  # clitics split off as PTB does: is n't, dog 's
    r"|\w+(?:[-.:,/]\w+)*(?=n't)|\w+(?:[-.:,/]\w+)*"  # words, numbers 3.5 10:30, well-known
    r"|\.\.\.|--|[^\w\s]"
)


def coco_tokenize(text: str) -> str:
    """Approximate COCO's PTBTokenizer (-lowerCase) without Java, then drop its punctuation tokens.

    "The dog's ball isn't red!" -> "the dog 's ball is n't red"
    """
    tokens = _TOKEN.findall(text.lower().replace("\n", " "))
    return " ".join(_BRACKETS.get(t, t) for t in tokens if t not in _PTB_DROP and t != '"')


def _ngrams(sentence: str, n: int = 4) -> Counter:
    words = sentence.split()
    return Counter(tuple(words[i : i + k]) for k in range(1, n + 1) for i in range(len(words) - k + 1))


def cider_d(candidates: Sequence[str], references: Refs, n: int = 4, sigma: float = 6.0) -> list[float]:
    """CIDEr-D per sample on already tokenized text, as pycocoevalcap's CiderScorer computes it.

    Includes the official code's details: idf from the references of this corpus (so one sample alone
    scores 0), clipped tf-idf products, the Gaussian length penalty, the x10 scale, and "length"
    counted over *bigrams* (the official code's `if n == 1`, which the published numbers include).
    """
    ref_counts = [[_ngrams(r, n) for r in refs] for refs in references]
    document_frequency: Counter = Counter()
    for refs in ref_counts:
        document_frequency.update({g for counts in refs for g in counts})
    log_corpus = math.log(float(len(ref_counts)))

    def vectorize(counts: Counter):
        vec = [defaultdict(float) for _ in range(n)]
        norm = [0.0] * n
        length = 0
        for gram, tf in counts.items():
            k = len(gram) - 1
            vec[k][gram] = float(tf) * (log_corpus - math.log(max(1.0, document_frequency[gram])))
            norm[k] += vec[k][gram] ** 2
            if k == 1:
                length += tf
        return vec, [math.sqrt(x) for x in norm], length

    scores = []
    for cand, refs in zip(candidates, ref_counts, strict=True):
        vec, norm, length = vectorize(_ngrams(cand, n))
        total = [0.0] * n
        for ref in refs:
            vec_r, norm_r, length_r = vectorize(ref)
            penalty = math.exp(-((length - length_r) ** 2) / (2 * sigma**2))
            for k in range(n):
                val = sum(min(w, vec_r[k].get(g, 0.0)) * vec_r[k].get(g, 0.0) for g, w in vec[k].items())
                if norm[k] != 0 and norm_r[k] != 0:
                    val /= norm[k] * norm_r[k]
                total[k] += val * penalty
        scores.append(sum(total) / n / len(refs) * 10.0)
    return scores


def cider(predictions: Sequence[str], references: Refs) -> float:
    """Corpus CIDEr-D (COCO scale) after `coco_tokenize` on both sides."""
    cands = [coco_tokenize(p) for p in predictions]
    refs = [[coco_tokenize(r) for r in rs] for rs in references]
    return _mean(cider_d(cands, refs))


# ---------------------------------------------------------------- registry
def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


METRICS: dict[str, Callable[[Sequence[str], Refs], float]] = {
    "anls": anls,
    "exact_match": exact_match,
    "vqa_accuracy": vqa_accuracy,
    "bleu": bleu,
    "rouge_l": rouge_l,
    "cider": cider,
}


def compute_metrics(predictions: Sequence[str], references: Refs, names: Sequence[str]) -> dict[str, float]:
    """{name: corpus score} for each metric name, in the order given."""
    unknown = [n for n in names if n not in METRICS]
    if not names:
        raise VlmTrainError(f"no metric named; choose from {', '.join(METRICS)} (comma-separated)")
    if unknown:
        raise VlmTrainError(
            f"unknown metric(s) {', '.join(unknown)}; choose from {', '.join(METRICS)} (comma-separated)"
        )
    if len(predictions) != len(references):
        raise VlmTrainError(f"{len(predictions)} predictions but {len(references)} reference lists")
    if not predictions:
        raise VlmTrainError("nothing to evaluate: no predictions")
    return {name: METRICS[name](predictions, references) for name in names}


# ---------------------------------------------------------------- predictions.jsonl -> metrics.json
DEFAULT_METRICS = ("anls", "exact_match", "vqa_accuracy", "bleu", "rouge_l", "cider")


def read_predictions(path) -> tuple[list[str], list[list[str]], list[str]]:
    """predictions.jsonl -> (predictions, references, ids).

    Each line: {"id": "...", "prediction": "2 dogs", "reference": "two dogs"}; `reference` may also be a
    list of strings (several human answers), or given as `references`.
    """
    import json
    from pathlib import Path

    from vlmdata.errors import Location, Problem, json_type

    path = Path(path)
    if not path.is_file():
        raise VlmTrainError(f"{path}: no such file; pass the predictions.jsonl written by `vlmtrain predict`")
    preds, refs, ids = [], [], []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue

            def bad(json_path, message, expected, found, _line=lineno):
                where = Location(file=str(path), record=len(preds), line=_line, path=json_path)
                fix = "each line needs a string `prediction` and a string (or list of strings) `reference`"
                return VlmTrainError(Problem("predictions", message, where, expected, found, fix).describe())

            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise bad("$", f"not valid JSON ({exc.msg})", "a JSON object", line.strip()[:60]) from None
            if not isinstance(row, dict):
                raise bad("$", "not a JSON object", "an object", json_type(row))
            pred = row.get("prediction")
            if not isinstance(pred, str):
                raise bad("$.prediction", "missing or not a string", "a string", repr(pred)[:60])
            key = "reference" if "reference" in row else "references"
            ref = row.get(key)
            ref_list = [ref] if isinstance(ref, str) else ref
            if not (isinstance(ref_list, list) and ref_list and all(isinstance(r, str) for r in ref_list)):
                raise bad(f"$.{key}", "missing or not text", "a string or a list of strings", repr(ref)[:60])
            preds.append(pred)
            refs.append(ref_list)
            ids.append(str(row.get("id", len(ids))))
    if not preds:
        raise VlmTrainError(f"{path}: no predictions in the file; nothing to evaluate")
    return preds, refs, ids


def _notes(scores: dict, refs: Refs) -> list[str]:
    """What a reader of the numbers must know about this data (empty when nothing applies)."""
    notes = []
    single = sum(len(r) == 1 for r in refs)
    if "vqa_accuracy" in scores and single:
        notes.append(
            f"vqa_accuracy: {single} of {len(refs)} sample(s) have one reference and score as a normalized "
            "exact match (the official formula expects 10 human answers)"
        )
    if "cider" in scores and len(refs) < 2:
        notes.append("cider: needs at least 2 samples (idf over one sample is 0)")
    return notes


def evaluate_file(predictions_path, names: Sequence[str] = DEFAULT_METRICS, out=None) -> dict:
    """Score a predictions.jsonl and write metrics.json (next to it unless `out` is given).

    -> {"predictions": "run/predictions.jsonl", "num_samples": 200,
        "metrics": {"anls": 0.71, "bleu": 0.23, ...}, "scales": {"cider": "0-10 (COCO)", ...}}
    """
    import json
    from pathlib import Path

    from vlmdata.atomic import atomic_write_text

    preds, refs, _ = read_predictions(predictions_path)
    scores = compute_metrics(preds, refs, list(names))
    result = {
        "predictions": str(predictions_path),
        "num_samples": len(preds),
        "references_per_sample": {"min": min(map(len, refs)), "max": max(map(len, refs))},
        "metrics": scores,
        "scales": {n: ("0-10 (COCO CIDEr-D)" if n == "cider" else "0-1") for n in scores},
        "notes": _notes(scores, refs),
    }
    out = Path(out) if out else Path(predictions_path).with_name("metrics.json")
    atomic_write_text(out, json.dumps(result, indent=2) + "\n")
    result["written"] = str(out)
    return result
