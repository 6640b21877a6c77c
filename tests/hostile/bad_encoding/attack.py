# Latin-1 bytes in a UTF-8 file (no coding cookie): the file cannot even be decoded.
GREETING = "café"
