"""Reading uploaded files: formats, encodings, delimiters, headers, names, missing values and refusals."""

import gzip
import hashlib
import io
import math
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tapeapp.data import table
from tapeapp.data.table import MISSING, read_table
from tapeapp.errors import TapeError


def read(data: bytes, name: str = "t.csv") -> table.Table:
    return read_table(data, name)


def values(result: table.Table) -> dict[str, list]:
    """Each column as a list, with missing values as None so that lists compare equal."""
    return {
        name: [None if pd.isna(value) else value for value in result.frame[name].tolist()]
        for name in result.frame.columns
    }


def excel_bytes(*sheets: tuple[str, pd.DataFrame], header: bool = True) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for sheet, frame in sheets:
            frame.to_excel(writer, sheet_name=sheet, index=False, header=header)
    return buffer.getvalue()


def test_simple_csv_reports_what_was_detected():
    data = b"a,b\n1,x\n2,y\n"
    result = read(data, "simple.csv")
    assert values(result) == {"a": [1, 2], "b": ["x", "y"]}
    info = result.info
    assert (info.name, info.format, info.delimiter, info.encoding) == ("simple.csv", "csv", ",", "utf-8")
    assert (info.header, info.decimal, info.rows, info.columns) == (True, ".", 2, 2)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert info.notes == ()


@pytest.mark.parametrize("data", [b"", b"   ", b"\n\n\r\n", b" \t \n  \n"])
def test_empty_file(data):
    with pytest.raises(TapeError, match=r"^The file is empty\.$"):
        read(data)


def test_header_only():
    with pytest.raises(TapeError, match="has column names but no rows"):
        read(b"a,b,c\n")


def test_header_and_only_empty_rows():
    with pytest.raises(TapeError, match="has column names but no rows"):
        read(b"a,b\n,\n,\n")


def test_single_data_row():
    result = read(b"name,score\nann,3.5\n")
    assert values(result) == {"name": ["ann"], "score": [3.5]}
    assert result.info.rows == 1


def test_single_column():
    result = read(b"height\n1.5\n2.5\n3\n")
    assert values(result) == {"height": [1.5, 2.5, 3.0]}
    assert result.info.columns == 1


def test_png_renamed_csv_is_refused():
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256))
    with pytest.raises(TapeError, match=r"does not look like a table \(it looks like a PNG image\)"):
        read(png, "photo.csv")


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", bytes(range(256)) * 4],
)
def test_other_binary_files_are_refused(data):
    with pytest.raises(TapeError, match="does not look like a table"):
        read(data, "data.csv")


def test_random_bytes_are_refused():
    junk = np.random.default_rng(1).integers(1, 256, 4000).astype(np.uint8).tobytes()
    with pytest.raises(TapeError, match="does not look like a table"):
        read(junk, "data.csv")


def test_html_saved_as_csv_is_refused():
    page = b"\n<!DOCTYPE html>\n<html><head><title>Data</title></head><body><table></table></body></html>"
    with pytest.raises(TapeError, match="web page"):
        read(page, "download.csv")
    with pytest.raises(TapeError, match="web page"):
        read(b"<html><body>a,b</body></html>", "x.csv")


def test_old_xls_is_refused_with_advice():
    with pytest.raises(TapeError, match=r"old Excel \(\.xls\).*save it as \.xlsx or CSV"):
        read(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "old.xls")


def test_xlsx_bytes_named_csv_are_read_as_excel():
    first = pd.DataFrame({"age": [30, 40, 50], "city": ["Oslo", None, "Rome"], "paid": [1.5, 2.0, 2.5]})
    data = excel_bytes(("people", first), ("notes", pd.DataFrame({"x": [1]})))
    result = read(data, "people.csv")
    assert result.info.format == "excel"
    assert (result.info.delimiter, result.info.encoding, result.info.header) == (None, None, True)
    assert values(result) == {"age": [30, 40, 50], "city": ["Oslo", None, "Rome"], "paid": [1.5, 2.0, 2.5]}
    assert result.info.notes == ("Read the first sheet 'people'; the file has 2 sheets",)


def test_excel_without_header_and_with_missing_markers():
    data = excel_bytes(("s", pd.DataFrame([[1, "NA"], [2, "b"]])), header=False)
    result = read(data, "x.xlsx")
    assert result.info.header is False
    assert values(result) == {"column_1": [1, 2], "column_2": [None, "b"]}


def test_excel_with_blank_rows_above_the_table():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A3"], sheet["B3"], sheet["A4"], sheet["B4"] = "a", "b", 1, "x"
    buffer = io.BytesIO()
    book.save(buffer)
    assert values(read(buffer.getvalue(), "x.xlsx")) == {"a": [1], "b": ["x"]}


def test_comma_files_keep_decimal_points():
    result = read(b'a,b\n"1,5",2\n"2,5",3\n')
    assert (result.info.delimiter, result.info.decimal) == (",", ".")
    assert values(result) == {"a": ["1,5", "2,5"], "b": [2, 3]}


def test_damaged_excel_is_refused():
    with pytest.raises(TapeError, match="Excel file could not be opened"):
        read(b"PK\x03\x04" + bytes(100), "book.xlsx")


def test_gzip_csv():
    result = read(gzip.compress(b"a,b\n1,2\n3,4\n"), "data.csv.gz")
    assert values(result) == {"a": [1, 3], "b": [2, 4]}
    assert result.info.notes == ("Decompressed gzip",)
    assert result.info.format == "csv"


def test_broken_gzip_is_refused():
    with pytest.raises(TapeError, match="compressed .gzip. but damaged"):
        read(gzip.compress(b"a,b\n1,2\n" * 50)[:30])


def test_zip_with_one_csv():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("inner.csv", "a;b\n1;2\n")
    result = read(buffer.getvalue(), "x.zip")
    assert values(result) == {"a": [1], "b": [2]}
    assert result.info.notes == ("Unzipped 'inner.csv'",)


def test_zip_with_several_files_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.csv", "a\n1\n")
        archive.writestr("b.csv", "b\n2\n")
    with pytest.raises(TapeError, match="zip archive with 2 files"):
        read(buffer.getvalue(), "x.zip")


def test_ragged_rows_are_padded_and_long_rows_kept_as_a_new_column():
    result = read(b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n")
    assert values(result) == {
        "a": [1, 4, 6], "b": [2, 5, 7], "c": [3.0, None, 8.0], "column_4": [None, None, 9.0],
    }
    assert result.info.notes == ("Named column 4, which had no name, 'column_4'",)


def test_long_rows_after_the_sample_are_skipped_and_counted():
    body = b"1,2,3\n" * 12_000
    result = read(b"a,b,c\n" + body + b"4,5,6,7\n8,9,10,,\n11,12\n")
    assert result.frame.shape == (12_002, 3)
    assert result.frame.iloc[-2:].to_numpy(na_value=-1).tolist() == [[8, 9, 10], [11, 12, -1]]
    assert result.info.notes == ("Skipped 1 row with more values than there are columns",)


def test_duplicate_column_names():
    result = read(b"a,a,b,a,a_2\n1,2,3,4,5\n")
    assert list(result.frame.columns) == ["a", "a_3", "b", "a_4", "a_2"]
    assert result.info.notes == (
        "Renamed duplicate column 'a' to 'a_3'",
        "Renamed duplicate column 'a' to 'a_4'",
    )


def test_blank_names_and_trailing_delimiter():
    result = read(b" a ,,b,\n1,2,3,\n4,5,6,\n")
    assert values(result) == {"a": [1, 4], "column_2": [2, 5], "b": [3, 6]}
    assert result.info.notes == (
        "Removed spaces around the column name 'a'",
        "Named column 2, which had no name, 'column_2'",
        "Dropped 1 empty column without a name",
    )


def test_pandas_unnamed_columns():
    result = read(b"Unnamed: 0,x,Unnamed: 2\n0,a,\n1,b,\n")
    assert values(result) == {"column_1": [0, 1], "x": ["a", "b"]}


def test_unusual_names_are_kept():
    names = ["first name", "a.b", "price [€]", "Größe", "🎉 party", "x(1)"]
    data = (",".join(names) + "\n1,2,3,4,5,6\n").encode()
    assert list(read(data).frame.columns) == names


def test_utf8_bom():
    result = read("name,city\n1,Zürich\n".encode("utf-8-sig"))
    assert result.info.encoding == "utf-8-sig"
    assert values(result) == {"name": [1], "city": ["Zürich"]}


@pytest.mark.parametrize(
    ("encoding", "reported"),
    [("utf-16", "utf-16"), ("utf-16-le", "utf-16-le"), ("utf-16-be", "utf-16-be")],
)
def test_utf16(encoding, reported):
    result = read("a\tb\n1\tcafé\n2\tnaïve\n".encode(encoding))
    assert result.info.encoding == reported
    assert result.info.delimiter == "\t"
    assert values(result) == {"a": [1, 2], "b": ["café", "naïve"]}


def test_utf16_big_endian_bom():
    result = read(b"\xfe\xff" + "a,b\n1,é\n".encode("utf-16-be"))
    assert result.info.encoding == "utf-16"
    assert values(result) == {"a": [1], "b": ["é"]}


def test_cp1252_accents():
    result = read("drink;price\ncafé;2\ncrème brûlée;5\n€uro;1\n".encode("cp1252"))
    assert result.info.encoding == "cp1252"
    assert values(result) == {"drink": ["café", "crème brûlée", "€uro"], "price": [2, 5, 1]}


def test_latin1_last_resort():
    result = read(b"a,b\n1,x\x81y\n")
    assert result.info.encoding == "latin-1"
    assert values(result) == {"a": [1], "b": ["x\x81y"]}


@pytest.mark.parametrize("data", [b"a,b\r\n1,2\r\n3,4\r\n", b"a,b\r\n1,2\n3,4\r5,6\r\n", b"a,b\r1,2\r3,4\r5,6"])
def test_line_endings(data):
    result = read(data)
    assert values(result)["a"] == [1, 3, 5][: result.info.rows]
    assert result.info.rows == data.count(b"2") + data.count(b"4") + data.count(b"6")


def test_semicolon_with_decimal_commas():
    result = read(b"name;weight;height\nann;61,5;1,70\nbob;80,25;1,85\n")
    assert (result.info.delimiter, result.info.decimal) == (";", ",")
    assert values(result) == {"name": ["ann", "bob"], "weight": [61.5, 80.25], "height": [1.70, 1.85]}


def test_semicolon_with_decimal_points():
    result = read(b"a;b\n1.5;x\n2.25;y\n")
    assert (result.info.delimiter, result.info.decimal) == (";", ".")
    assert values(result) == {"a": [1.5, 2.25], "b": ["x", "y"]}


@pytest.mark.parametrize("delimiter", ["\t", "|", ";", ","])
def test_delimiters(delimiter):
    data = delimiter.join(["x", "y", "label"]) + "\n" + delimiter.join(["1", "2", "a b"]) + "\n"
    data += delimiter.join(["3", "4", "c"]) + "\n"
    result = read(data.encode())
    assert result.info.delimiter == delimiter
    assert values(result) == {"x": [1, 3], "y": [2, 4], "label": ["a b", "c"]}


def test_quoted_fields_with_delimiters_newlines_and_quotes():
    data = b'id,comment,n\n1,"hello, world",2\n2,"line one\nline two",3\n3,"she said ""hi""",4\n'
    result = read(data)
    assert values(result) == {
        "id": [1, 2, 3], "comment": ["hello, world", "line one\nline two", 'she said "hi"'], "n": [2, 3, 4],
    }


def test_unclosed_quote_is_explained():
    with pytest.raises(TapeError, match="quote mark"):
        read(b'a,b\nx,1\ny,2\n"z,3\n')


def test_no_header_row():
    result = read(b"5.1,3.5,setosa\n4.9,3.0,setosa\n6.3,2.9,virginica\n")
    assert result.info.header is False
    assert values(result) == {
        "column_1": [5.1, 4.9, 6.3], "column_2": [3.5, 3.0, 2.9], "column_3": ["setosa", "setosa", "virginica"],
    }
    assert result.info.notes == ("The first row looks like data, so the columns are named column_1 to column_3",)


def test_numbers_only_without_header():
    result = read(b"1,2\n3,4\n")
    assert result.info.header is False
    assert values(result) == {"column_1": [1, 3], "column_2": [2, 4]}


def test_text_header_above_text_values_is_a_header():
    result = read(b"animal,sound\ncat,meow\ndog,woof\n")
    assert result.info.header is True
    assert list(result.frame.columns) == ["animal", "sound"]


def test_trailing_and_leading_blank_lines():
    result = read(b"\n\na,b\n1,2\n3,4\n\n\n   \n\n")
    assert values(result) == {"a": [1, 3], "b": [2, 4]}
    assert result.info.notes == ()


def test_rows_of_empty_fields_are_dropped():
    result = read(b"a,b\n1,2\n,\nNA,\n3,4\n")
    assert values(result) == {"a": [1.0, 3.0], "b": [2.0, 4.0]}
    assert result.info.notes == ("Dropped 2 empty rows",)


@pytest.mark.parametrize("marker", MISSING + ("   ", " NA ", "\t"))
def test_every_missing_marker(marker):
    data = f"k,n,word\nx,1,a\ny,{marker},{marker}\nz,3,c\n".encode()
    result = read(data)
    assert values(result) == {"k": ["x", "y", "z"], "n": [1.0, None, 3.0], "word": ["a", None, "c"]}
    assert result.frame["n"].dtype == "float64"


def test_missing_markers_do_not_include_other_pandas_defaults():
    result = read(b"code\nNAN\n#NA\n<NA>\n")
    assert values(result) == {"code": ["NAN", "#NA", "<NA>"]}


def test_text_values_are_stripped():
    result = read(b"a,b\n  x  ,1\ny ,2\n")
    assert values(result) == {"a": ["x", "y"], "b": [1, 2]}


def test_thousands_separators_currency_and_percent():
    data = b'price,share,cost,plain\n"1,234.5",45%,$3,1\n"2,000",5.5%,$1,2\n"12",100%,"$1,000.50",3\n'
    result = read(data)
    assert values(result) == {
        "price": [1234.5, 2000.0, 12.0], "share": [45.0, 5.5, 100.0], "cost": [3.0, 1.0, 1000.5], "plain": [1, 2, 3],
    }
    assert result.info.notes == (
        "Read 'price' as numbers (removed thousands separators)",
        "Read 'share' as numbers (removed % signs, so 45% reads as 45)",
        "Read 'cost' as numbers (removed thousands separators, removed currency symbols)",
    )


def test_european_thousands_with_decimal_comma():
    result = read(b"amount;rate;n\n1.234,5;12,5 %;1\n2.000,25;3,0 %;2\n999,75;7,25 %;3\n")
    assert result.info.decimal == ","
    assert values(result) == {"amount": [1234.5, 2000.25, 999.75], "rate": [12.5, 3.0, 7.25], "n": [1, 2, 3]}


def test_mixed_numbers_and_text_stay_text():
    result = read(b'v\n1\n"2,000"\nabc\n')
    assert values(result) == {"v": ["1", "2,000", "abc"]}
    assert result.info.notes == ()


def test_yes_no_true_false_and_dates_are_left_alone():
    data = b"answer,flag,day\nyes,True,2024-01-05\nno,False,2024-02-10\nyes,True,2024-03-15\n"
    result = read(data)
    assert values(result) == {
        "answer": ["yes", "no", "yes"], "flag": [True, False, True],
        "day": ["2024-01-05", "2024-02-10", "2024-03-15"],
    }
    assert result.info.notes == ()


def test_inf_and_huge_values_stay_floats():
    result = read(b"x\ninf\n-inf\n1e308\n1e400\n2\n")
    column = result.frame["x"]
    assert column.dtype == "float64"
    assert column.tolist() == [math.inf, -math.inf, 1e308, math.inf, 2.0]


def test_parquet_round_trip():
    frame = pd.DataFrame({
        "n": pd.array([1, None, 3], dtype="Int64"),
        "f": [0.5, 1.5, None],
        "s": ["a", None, "c"],
        "when": pd.to_datetime(["2024-01-01", "2024-01-02", None]),
        "flag": [True, False, True],
    })
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    result = read(buffer.getvalue(), "data.parquet")
    assert (result.info.format, result.info.delimiter, result.info.encoding) == ("parquet", None, None)
    pd.testing.assert_frame_equal(result.frame, frame, check_dtype=False)
    assert result.frame["n"].dtype == "Int64"


def test_parquet_index_becomes_a_column():
    buffer = io.BytesIO()
    pd.DataFrame({"key": ["a", "b"], "v": [1, 2]}).set_index("key").to_parquet(buffer)
    assert values(read(buffer.getvalue(), "x.parquet")) == {"key": ["a", "b"], "v": [1, 2]}


def test_sources_path_file_and_name(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_bytes(b"a\n1\n")
    assert read_table(path).info.name == "scores.csv"
    assert read_table(str(path), name="other.csv").info.name == "other.csv"
    handle = io.BytesIO(b"a\n1\n")
    handle.name = "/some/where/upload.csv"
    assert read_table(handle).info.name == "upload.csv"
    assert read_table(bytearray(b"a\n1\n")).info.name == ""


def test_missing_path(tmp_path):
    with pytest.raises(TapeError, match="Could not find the file"):
        read_table(tmp_path / "nope.csv")


def test_too_large(monkeypatch, tmp_path):
    monkeypatch.setattr(table, "MAX_BYTES", 40)
    with pytest.raises(TapeError, match="more than the 0 MB limit"):
        read(b"a,b\n" + b"1,2\n" * 10)
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 10)
    with pytest.raises(TapeError, match="limit"):
        read_table(path)
    monkeypatch.setattr(table, "MAX_UNPACKED", 1000)
    with pytest.raises(TapeError, match="unpacks to more than"):
        read(gzip.compress(b"a\n1\n" * 500))


def test_max_bytes_is_500_mb():
    assert table.MAX_BYTES == 500_000_000


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_any_bytes_give_a_table_or_a_tape_error(data):
    try:
        result = read(data)
    except TapeError:
        return
    assert result.info.rows == len(result.frame) > 0
    assert list(result.frame.columns) == list(dict.fromkeys(result.frame.columns))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=',;\t|"\r\n .-%$1234567890abNA?é', max_size=120))
def test_any_text_gives_a_table_or_a_tape_error(text):
    try:
        result = read(text.encode())
    except TapeError:
        return
    names = list(result.frame.columns)
    assert all(isinstance(name, str) and name for name in names)
    assert len(set(names)) == len(names)
    assert result.info.rows == len(result.frame) > 0
