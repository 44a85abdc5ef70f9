"""A function-reference manual as a PDF: an overview, then entries that each open with the
function's signature, its parameters, a description and what it returns (like a Texinfo
manual's `@deftypefun` pages). Written for the tests."""

from __future__ import annotations

from tests.ingestion.pdf_samples import Bookmark, Text, manual_pdf

HEADER = "libkv Reference Manual"
OVERVIEW = [
    "libkv is a small library that keeps key-value records in one file on disk.",
    "A store is the file that holds the records of one application.",
    "A record is a key and its value, both byte strings of any length.",
    "Every function returns KV_OK on success and a negative error code otherwise.",
]
ENTRIES = {
    "Opening and closing": [
        ("kv_open", "int kv_open (const char * path, kv_store ** store, int flags)",
         ["path: the file that holds the store.", "store: where the opened store is written.",
          "flags: KV_CREATE to create a missing file, or 0."],
         "Opens the store kept in path and makes it ready for reads and writes.",
         "Returns: KV_OK if the store was opened, KV_NOT_FOUND if path does not exist."),
        ("kv_close", "int kv_close (kv_store * store)",
         ["store: a store opened by kv_open."],
         "Writes pending records to disk and releases the store.",
         "Returns: KV_OK if every record reached the disk."),
        ("kv_sync", "int kv_sync (kv_store * store)",
         ["store: a store opened by kv_open."],
         "Forces the records written so far onto the disk without closing the store.",
         "Returns: KV_OK on success, KV_IO_ERROR if the disk refused the write."),
    ],
    "Reading and writing records": [
        ("kv_put",
         "int kv_put (kv_store * store, const char * key, const void * value, size_t len)",
         ["store: an open store.", "key: the key of the record.",
          "value: the bytes to store.", "len: how many bytes value holds."],
         "Stores value under key and replaces any value the key had before.",
         "Returns: KV_OK if the record was stored, KV_FULL if the file cannot grow."),
        ("kv_get", "int kv_get (kv_store * store, const char * key, void * value, size_t * len)",
         ["store: an open store.", "key: the key to look up.",
          "value: a buffer for the bytes found.", "len: the buffer size, then the bytes found."],
         "Copies the value stored under key into the buffer.",
         "Returns: KV_OK if the key was found, KV_NOT_FOUND otherwise."),
        ("kv_delete", "int kv_delete (kv_store * store, const char * key)",
         ["store: an open store.", "key: the key of the record to remove."],
         "Removes the record stored under key from the store.",
         "Returns: KV_OK if a record was removed, KV_NOT_FOUND if there was none."),
    ],
}  # fmt: skip


def reference_manual_pdf() -> bytes:
    """The manual: a title page, the overview, one page per group of entries."""
    pages: list[list[Text]] = [[Text("libkv", 600, 24, "bold"), Text("Reference Manual", 560)]]
    overview = [Text(HEADER, 760, 9), Text("1 Overview", 720, 16, "bold")]
    overview += [Text(line, 690 - 20 * i, 11) for i, line in enumerate(OVERVIEW)]
    pages.append([*overview, Text("2", 40, 9, x=300)])
    reference = [Text(HEADER, 760, 9), Text("2 Function reference", 720, 16, "bold")]
    pages.append(
        [*reference, Text("The functions come in two groups.", 690, 11), Text("3", 40, 9, x=300)]
    )
    children = []
    for number, (group, entries) in enumerate(ENTRIES.items(), start=1):
        lines = [Text(HEADER, 760, 9), Text(f"2.{number} {group}", 720, 13, "bold")]
        y = 690.0
        for name, signature, parameters, description, returns in entries:
            lines.append(Text(name.replace("_", " "), y, 11, "bold"))
            lines.append(Text(signature, y - 20, 10))
            y -= 40
            for line in [*parameters, description, returns]:
                lines.append(Text(line, y, 10))
                y -= 18
            y -= 12
        lines.append(Text(str(len(pages) + 1), 40, 9, x=300))
        children.append(Bookmark(f"2.{number} {group}", len(pages)))
        pages.append(lines)
    outline = [Bookmark("1 Overview", 1), Bookmark("2 Function reference", 2, children)]
    return manual_pdf(pages, outline)
