"""Auto-checked exercises: one module per chapter (``ch01`` to ``ch04``).

Each ``check_*`` function runs the reader's answer on several cases against the
package's reference and returns a verdict to print, built on :mod:`.checker`.
"""
