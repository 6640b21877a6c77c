# Takes all the memory it can get while being imported (64 MiB at a time, up to 16 GiB): big
# chunks reach the limit in a fraction of a second even on a loaded machine.
_hoard = [bytearray(1 << 26) for _ in range(1 << 8)]
