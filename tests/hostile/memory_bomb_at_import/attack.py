# Takes all the memory it can get while being imported (1 MiB at a time, up to 16 GiB).
_hoard = [bytearray(1 << 20) for _ in range(1 << 14)]
