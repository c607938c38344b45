"""Expected text for CSVWriter (Tests/MoDEFormatsTests/CSVTests.swift), from Python's csv module.

The line terminator is CRLF, as RFC 4180 has it: Python's QUOTE_MINIMAL quotes a field holding
the delimiter, the quote character or a character of the line terminator, so with CRLF it
quotes fields holding CR or LF, as the RFC asks.

Run: python3 tools/csv_reference.py
"""
import csv
import io

ROWS = [
    ["plain", "with,comma", 'say "hi"', "cr\rin", "lf\nin", "crlf\r\nin", "", 'caf\u00e9, "x"'],
    ["a", "b"],
]

if __name__ == "__main__":
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in ROWS:
        writer.writerow(row)
    print(repr(out.getvalue()))
