"""The intent model of one inbox and language, built from the FAQ's question variants.

Features: TF-IDF over stemmed words and word bigrams plus character n-grams
(char_wb 2-5, for typos and German compounds) of normalised text
(conversations.bot.text). Classifier: a linear SVM trained by SGD (hinge
loss). Chosen by measurement on CLINC150 val (bench/bot.py, docs/benchmarks.md):
LinearSVC and LogisticRegression reach the same accuracy (91 %) but build 5-20x
slower; cosine nearest-centroid is fast but 7 points worse; for out-of-scope
detection the classifier's top score separates better than the nearest-variant
cosine.

Out-of-scope: a message is answered only if its top score clears a threshold
CALIBRATED on held-out variants: k-fold (k <= 5) over the FAQ's own variants,
each held-out variant scored by a model trained without it, and the threshold
set so that ANSWER_KEEP (98 %) of those in-scope held-out variants would be
answered. Scores between the SUGGEST_KEEP (99 %) threshold and the answer
threshold, or an answer whose runner-up is almost as close (a margin below
what 99 % of held-out variants have), give "did you mean" suggestions. A
second gate, calibrated the same way, is the cosine similarity to the nearest
training variant (COSINE_KEEP, or COSINE_KEEP_SMALL for FAQs with few variants
per entry, where the classifier's score alone rejects nothing: see there).
The confidence reported is the probability that the top entry is right,
fitted (isotonic) on the held-out variants' scores and outcomes, never a raw
SVM margin; below ANSWER_CONFIDENCE (60 %) the bot suggests instead of
answering. A message that is exactly a variant of one entry is answered.

One entry: no classifier can be trained; the score is the cosine similarity
to the entry's nearest variant, calibrated the same way (leave-one-out over its
variants); with a single variant the bar is SINGLE_VARIANT_BAR. No entries:
no model (the bot does not understand anything).

A model lives only in the memory of the process that built it: it is never
pickled, cached in Redis or written to disk (a Redis write must not become
code execution); every process rebuilds it from the database.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import KFold
from sklearn.pipeline import FeatureUnion

from conversations.bot.text import WordAnalyzer, normalise

ANSWER_KEEP = 0.98
SUGGEST_KEEP = 0.99
MARGIN_KEEP = 0.99
# Below this calibrated probability of being right the bot asks "did you mean".
ANSWER_CONFIDENCE = 0.6  # below it, "did you mean": a 55 % guess is better offered than asserted
COSINE_KEEP = 0.99
# An FAQ whose entries have few variants (median below SMALL_FAQ_VARIANTS):
# a held-out variant is far from the few left (each variant says it its own
# way), much farther than a real paraphrase is from all of them, so keeping
# 99 % of held-out variants would let almost anything through (German set:
# 0 % out-of-scope recall). Measured on bench/data/bot_de.json: keeping 65 %
# answers 95 % of paraphrases and rejects 60 % of out-of-scope questions.
SMALL_FAQ_VARIANTS = 20
COSINE_KEEP_SMALL = 0.75
FOLDS = 5
# 150 entries x 50 variants: 3 folds keep the build (4 fits) under 30 s on a busy
# 2-core machine; the thresholds still rest on every variant held out once.
FOLDS_BIG = 3
BIG_FAQ_VARIANTS = 2000
SINGLE_VARIANT_BAR = 0.5
SEED = 0


@dataclass(frozen=True)
class FaqItem:
    """One FAQ entry as the model sees it (read from the database by the caller)."""

    entry_id: int
    variants: tuple[str, ...]
    answer: str
    asks_for_contact: bool

    @property
    def label(self) -> str:
        return self.variants[0] if self.variants else ""


@dataclass(frozen=True)
class Ranking:
    """The model's view of one message: entries best first with their scores."""

    entry_ids: tuple[int, ...]  # best first, at most 3
    scores: tuple[float, ...]
    confidence: float
    kind: str  # "answer" | "suggest" | "unknown"


def _features(language: str) -> FeatureUnion:
    return FeatureUnion(
        [
            ("words", TfidfVectorizer(analyzer=WordAnalyzer(language), sublinear_tf=True)),
            (
                "chars",
                TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
            ),
        ]
    )


class _Scorer:
    """Scores of every entry for normalised texts (a linear classifier, or cosine for one
    entry) and the cosine similarity to the nearest training variant."""

    def __init__(self, texts: list[str], labels: np.ndarray, language: str) -> None:
        self.features = _features(language)
        # Rows are L2-normalised per block (two blocks): a dot product is at most 2.
        variants = self.features.fit_transform(texts)
        # Stored transposed as CSR: a message's row times it is a cheap sparse product
        # (transposing on every call cost 4-6 ms with 7,500 variants).
        self.variants_t = variants.T.tocsr()
        self.classes = np.unique(labels)
        self.weights = None
        if len(self.classes) >= 2:
            classifier = SGDClassifier(loss="hinge", alpha=1e-4, random_state=SEED)
            classifier.fit(variants, labels)
            self.classes = classifier.classes_
            coef, bias = classifier.coef_, classifier.intercept_
            if len(self.classes) == 2:  # one hyperplane: class 1 above, class 0 below
                coef, bias = np.vstack([-coef[0], coef[0]]), np.array([-bias[0], bias[0]])
            # Contiguous (features x classes): scikit-learn's decision_function copies
            # coef_.T on every call, 10+ ms for 150 entries.
            self.weights = np.ascontiguousarray(coef.T)
            self.bias = bias

        # For one message (every chat post): the fitted vocabularies and IDF
        # weights, read once. FeatureUnion.transform validates its input and
        # dispatches each block through joblib: ~3 ms of overhead for a few
        # dozen n-grams. _row computes the same row (a test checks it).
        self._blocks = []
        offset = 0
        for _name, vectorizer in self.features.transformer_list:
            self._blocks.append(
                (vectorizer.build_analyzer(), vectorizer.vocabulary_, vectorizer.idf_, offset)
            )
            offset += len(vectorizer.vocabulary_)
        self.width = offset

    def _row(self, text: str) -> sparse.csr_matrix:
        """features.transform([text]) without scikit-learn's per-call overhead:
        per block, counts of known n-grams, 1 + log(count) (sublinear_tf) times
        IDF, L2-normalised; the blocks side by side."""
        indices: list[int] = []
        values: list[float] = []
        for analyze, vocabulary, idf, offset in self._blocks:
            counts = Counter(j for j in map(vocabulary.get, analyze(text)) if j is not None)
            block = [(j, (1.0 + math.log(n)) * idf[j]) for j, n in sorted(counts.items())]
            norm = math.sqrt(sum(v * v for _, v in block))
            for j, v in block:
                indices.append(offset + j)
                values.append(v / norm)
        return sparse.csr_matrix(
            (np.array(values), np.array(indices, dtype=np.int32), np.array([0, len(indices)])),
            shape=(1, self.width),
        )

    def scores(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(len(texts), len(classes)) scores, higher is closer; and nearest-variant cosines."""
        matrix = self._row(texts[0]) if len(texts) == 1 else self.features.transform(texts)
        similarity = (matrix @ self.variants_t).toarray() / 2.0
        nearest = similarity.max(axis=1)
        if self.weights is not None:
            return np.asarray(matrix @ self.weights) + self.bias, nearest
        return nearest.reshape(-1, 1), nearest


class IntentModel:
    """Built once per (inbox, language, FAQ version); answers rank() in about a millisecond."""

    def __init__(self, *, items: list[FaqItem], language: str) -> None:
        started = time.perf_counter()
        self.language = language
        self.items = {item.entry_id: item for item in items if item.variants}
        counts = [len(item.variants) for item in self.items.values()]
        self.small = bool(counts) and float(np.median(counts)) < SMALL_FAQ_VARIANTS
        texts: list[str] = []
        labels: list[int] = []
        owners: dict[str, set[int]] = {}
        for item in self.items.values():
            for variant in item.variants:
                text = normalise(variant, stop_words=self.small)
                if text:
                    texts.append(text)
                    labels.append(item.entry_id)
                    owners.setdefault(text, set()).add(item.entry_id)
        # A message that IS a variant of exactly one entry gets that entry's answer.
        self.exact = {text: next(iter(ids)) for text, ids in owners.items() if len(ids) == 1}
        self.size = len(texts)
        self.scorer = _Scorer(texts, np.array(labels), language) if texts else None
        self._calibrate(texts, np.array(labels))
        self.build_seconds = time.perf_counter() - started

    def _calibrate(self, texts: list[str], labels: np.ndarray) -> None:
        """Thresholds from held-out variants (k-fold), see the module docstring."""
        tops: list[float] = []
        margins: list[float] = []
        right: list[bool] = []
        cosines: list[float] = []
        if self.scorer is not None and len(texts) >= 2:
            k = FOLDS if len(texts) <= BIG_FAQ_VARIANTS else FOLDS_BIG
            folds = KFold(n_splits=min(k, len(texts)), shuffle=True, random_state=SEED)
            array = np.array(texts, dtype=object)
            for train, test in folds.split(array):
                known = np.isin(labels[test], labels[train])
                test = test[known]
                if len(test) == 0:
                    continue
                scorer = _Scorer(list(array[train]), labels[train], self.language)
                scores, nearest = scorer.scores(list(array[test]))
                cosines += nearest.tolist()
                order = np.argsort(-scores, axis=1)
                best = scores[np.arange(len(test)), order[:, 0]]
                tops += best.tolist()
                right += (scorer.classes[order[:, 0]] == labels[test]).tolist()
                if scores.shape[1] >= 2:
                    margins += (best - scores[np.arange(len(test)), order[:, 1]]).tolist()
        if tops:
            self.answer_bar = float(np.quantile(tops, 1 - ANSWER_KEEP))
            self.suggest_bar = float(np.quantile(tops, 1 - SUGGEST_KEEP))
            self.calibration = IsotonicRegression(
                y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip"
            ).fit(tops, np.array(right, dtype=float))
        else:  # one variant in the whole FAQ: nothing to hold out
            self.answer_bar = self.suggest_bar = SINGLE_VARIANT_BAR
            self.calibration = None
        keep = COSINE_KEEP_SMALL if self.small else COSINE_KEEP
        self.cosine_bar = float(np.quantile(cosines, 1 - keep)) if cosines else 0.0
        self.margin_bar = float(np.quantile(margins, 1 - MARGIN_KEEP)) if margins else 0.0
        self.held_out = len(tops)

    def confidence(self, score: float) -> float:
        if self.calibration is None:
            return 1.0 if score >= self.answer_bar else 0.0
        # IsotonicRegression.predict for one score, without its input validation
        # (0.1 ms a message): clipped to the fitted range, interpolated linearly
        # between its thresholds (a test checks it against predict()).
        fit = self.calibration
        return float(np.interp(score, fit.X_thresholds_, fit.y_thresholds_))

    def rank(self, text: str) -> Ranking:
        """answer / suggest / unknown for one message, with the top entries."""
        query = normalise(text, stop_words=self.small)
        if self.scorer is None or not query:
            return Ranking(entry_ids=(), scores=(), confidence=0.0, kind="unknown")
        if query in self.exact:
            return Ranking(entry_ids=(self.exact[query],), scores=(), confidence=1.0, kind="answer")
        all_scores, nearest = self.scorer.scores([query])
        scores = all_scores[0]
        order = np.argsort(-scores)[:3]
        ids = tuple(int(self.scorer.classes[i]) for i in order)
        top = [float(scores[i]) for i in order]
        confidence = self.confidence(top[0])
        close = len(top) >= 2 and top[0] - top[1] < self.margin_bar  # torn between two
        sure = confidence >= ANSWER_CONFIDENCE
        if nearest[0] < self.cosine_bar:  # shares too little with every variant
            return Ranking(entry_ids=(), scores=(), confidence=0.0, kind="unknown")
        if top[0] >= self.answer_bar and sure and not (close and top[1] >= self.suggest_bar):
            kind = "answer"
        elif top[0] >= self.suggest_bar:
            kind = "suggest"
            keep = [i for i, score in enumerate(top) if i < 2 or score >= self.suggest_bar]
            ids = tuple(ids[i] for i in keep)
            top = [top[i] for i in keep]
        else:
            kind = "unknown"
        return Ranking(entry_ids=ids, scores=tuple(top), confidence=confidence, kind=kind)
