# The code is honest; the submitted assignment2.pkl would run a shell command when unpickled.
