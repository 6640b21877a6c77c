# The code is honest; the submitted assignment2.pkl is a pickle bomb: a few hundred bytes of
# shared references that expand to about a billion values (8 ** 10) once turned into an array.
