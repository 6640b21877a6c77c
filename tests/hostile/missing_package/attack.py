# Imports a package that is not installed.
import torch  # noqa: F401
