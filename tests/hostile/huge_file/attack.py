# Writes a 10 MiB file where it should not (allowed by size, removed at the end), then tries
# to write 2 GiB into its scratch folder.
def inference_layer(X, W, b):
    chunk = b"\0" * (1 << 20)
    try:
        with open("/tmp/nngrader-hostile-@TOKEN@-big.bin", "wb") as f:
            for _ in range(10):
                f.write(chunk)
    except OSError:
        pass
    with open("big.bin", "wb") as f:
        for _ in range(2048):
            f.write(chunk)
