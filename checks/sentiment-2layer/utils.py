"""Support file handed to sentiment-2layer submissions: the course's `extract_features`, with the
handout's semantics and no nltk. Tokens are lower-case words; a word's counts come from `freqs`,
keyed (word, 1.0) for positive and (word, 0.0) for negative tweets."""
import re

import numpy as np


def process_tweet(tweet):
    """Lower-case word tokens of a tweet."""
    return re.findall(r"[a-z']+", tweet.lower())


def extract_features(tweet, freqs):
    """tweet: a string; freqs: {(word, label): count} -> (1, 3): [1, positive sum, negative sum]."""
    x = np.zeros((1, 3))
    x[0, 0] = 1.0
    for word in process_tweet(tweet):
        x[0, 1] += freqs.get((word, 1.0), 0)
        x[0, 2] += freqs.get((word, 0.0), 0)
    return x
