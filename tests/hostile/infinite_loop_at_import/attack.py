# Never finishes importing: every check must fail fast, not retry the import each time.
while True:
    pass
