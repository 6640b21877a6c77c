"""Regenerate tweets.pkl: a small synthetic data set in the handout's twitter_data.pkl format
(train_x / test_x: lists of strings; train_y / test_y: (N, 1) float arrays; freqs: word counts).

    python checks/sentiment-2layer/make_tweets.py
"""
import os
import pickle

import numpy as np

SEED = 6120
N_TRAIN, N_TEST = 160, 80
POSITIVE = ["happy", "great", "love", "good", "awesome", "fun", "nice", "thanks", "smile", "best"]
NEGATIVE = ["sad", "bad", "hate", "awful", "angry", "boring", "worst", "sorry", "cry", "tired"]
NEUTRAL = ["the", "a", "today", "movie", "my", "we", "it", "was", "so", "day"]


def tweet(rng, label):
    own, other = (POSITIVE, NEGATIVE) if label == 1 else (NEGATIVE, POSITIVE)
    words = list(rng.choice(own, rng.integers(1, 4))) + list(rng.choice(NEUTRAL, rng.integers(1, 4)))
    if rng.random() < 0.3:
        words.append(rng.choice(other))
    rng.shuffle(words)
    return " ".join(words).capitalize() + rng.choice(["!", ".", " :)", " :(", ""])


def main():
    rng = np.random.default_rng(SEED)
    labels = rng.integers(0, 2, N_TRAIN + N_TEST)
    texts = [tweet(rng, int(y)) for y in labels]
    train_x, test_x = texts[:N_TRAIN], texts[N_TRAIN:]
    train_y = labels[:N_TRAIN].astype(float).reshape(-1, 1)
    test_y = labels[N_TRAIN:].astype(float).reshape(-1, 1)
    freqs = {}
    for t, y in zip(train_x, train_y[:, 0]):
        for w in t.lower().replace("!", " ").replace(".", " ").replace(":)", " ").replace(":(", " ").split():
            freqs[(w, float(y))] = freqs.get((w, float(y)), 0) + 1
    # Scale counts down so raw features stay in a range plain gradient descent handles.
    freqs = {k: round(v / 10.0, 1) for k, v in sorted(freqs.items())}
    data = {"train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y, "freqs": freqs}
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tweets.pkl")
    with open(out, "wb") as f:
        pickle.dump(data, f, protocol=4)
    print(f"wrote {out}: {len(train_x)} train, {len(test_x)} test, {len(freqs)} freqs entries")


if __name__ == "__main__":
    main()
