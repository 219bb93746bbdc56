"""Auto-checked exercises: one module per numbered chapter (``ch01`` to ``ch07``).

Each ``check_*`` function runs the reader's answer on several cases against the
package's reference (or compares a predicted number with the measured one) and returns
a verdict to print, built on :mod:`.checker`: ✓ when every case passes, ✗ with the first
failing case otherwise, and a one-line "not done yet" while the answer is still the stub.
"""
