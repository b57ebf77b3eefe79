#!/usr/bin/env python3
"""Independent reader: opens a Tandem case file with the SQLCipher 4 bundled in the PyPI package
`sqlcipher3` (0.6.x), not with Tandem's own code, and prints the persons' names as JSON.

Usage: sqlcipher_reader.py PATH   (the 64-hex-digit key is read from stdin, never from argv)
Exit codes: 0 ok, 2 usage, 3 sqlcipher3 missing or too old, 4 cannot read the file.
"""
import json
import re
import sys

try:
    import sqlcipher3
except ImportError as error:
    sys.stderr.write(
        "sqlcipher3 is not importable (%s): install it with `pip install sqlcipher3==0.6.4`\n" % error
    )
    sys.exit(3)


def main():
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    key = sys.stdin.read().strip()
    if not re.fullmatch(r"[0-9a-f]{64}", key):
        sys.stderr.write("expected 64 lowercase hex digits on stdin\n")
        return 2
    conn = sqlcipher3.connect(sys.argv[1])
    try:
        conn.execute("PRAGMA key = \"x'%s'\"" % key)
        version = conn.execute("PRAGMA cipher_version").fetchone()[0]
        if int(version.split(".")[0]) < 4:
            sys.stderr.write("SQLCipher %s is too old: the case file is SQLCipher 4\n" % version)
            return 3
        rows = conn.execute(
            "SELECT first_name, last_name FROM person ORDER BY sort_key, search_key"
        ).fetchall()
    except sqlcipher3.DatabaseError as error:
        sys.stderr.write("cannot read the case file: %s\n" % error)
        return 4
    finally:
        conn.close()
    json.dump([{"first_name": f, "last_name": l} for f, l in rows], sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
