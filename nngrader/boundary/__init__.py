"""The student boundary: the worker process and its containment, the framed channel, reply
decoding, safe pickle loading, and the messages students read. Imports only `core`."""
