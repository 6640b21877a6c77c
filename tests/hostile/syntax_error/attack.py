# Not valid Python. The submitted assignment2.pkl is fine and still earns its points.
def broken(:
    pass
