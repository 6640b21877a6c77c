# NaN and inf where numbers are due (NaN compares unequal to everything, including a NaN
# expected value: a careless comparison with equal_nan or a negated test lets it through).
def sigmoid(x):
    return np.full(np.shape(x), np.nan)


def bce_forward(yhat, y):
    return float("nan")


def inference_layer(X, W, b):
    return np.full((W.shape[0],) + X.shape[1:], np.inf)
