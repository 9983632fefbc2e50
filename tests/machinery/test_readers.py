"""The payload readers beyond the basics: bounds at their edges, optional fields, did you
mean, non-empty strings, base64 bytes and images bounded by the size their header states
(a few hundred KB of PNG can decode to gigabytes)."""

import base64
import struct
import zlib

import numpy as np
import pytest
import tensorflow as tf

from tf_session import (
    FLOAT32_MAX,
    PayloadError,
    array,
    base64_bytes,
    image,
    image_size,
    integer,
    number,
    optional,
    read_fields,
    string,
)

tf.compat.v1.disable_eager_execution()


def error_of(payload, fields):
    with pytest.raises(PayloadError) as caught:
        read_fields(payload, fields)
    return str(caught.value)


# --- bounds at their edges: a value on the bound passes, the next one past it does not ----


@pytest.mark.parametrize(("reader", "inside", "past", "message"), [
    (number(0, 100), 100, float(np.nextafter(100.0, 200.0)),
     "must be <= 100, got 100.00000000000001"),
    (number(0, 100), 0, float(np.nextafter(0.0, -1.0)), "must be >= 0, got -5e-324"),
    (number(maximum=-1.5), -1.5, -1.4999999, "must be <= -1.5, got -1.4999999"),
    # bounds wider than float32's range: the range still holds
    (number(-1e300, 1e300), FLOAT32_MAX, float(np.nextafter(FLOAT32_MAX, 1e300)),
     "must be within float32's range (about +-3.4e38), got 3.402823466385289e+38"),
    (number(-1e300, 1e300), -FLOAT32_MAX, float(np.nextafter(-FLOAT32_MAX, -1e300)),
     "must be within float32's range (about +-3.4e38), got -3.402823466385289e+38"),
    (integer(1, 10), 10, 11, "must be <= 10, got 11"),
    (integer(1, 10), 1, 0, "must be >= 1, got 0"),
    (integer(), 2 ** 63 - 1, 2 ** 63, "must be <= 9223372036854775807, got 9223372036854775808"),
    (string(min_length=2, max_length=3), "abc", "abcd", "must be at most 3 characters long"),
    (string(min_length=2, max_length=3), "ab", "a", "must be at least 2 characters long, got 1"),
    (array(number(), min_length=2, max_length=3), [1, 2, 3], [1, 2, 3, 4],
     "must hold 2 to 3 items, got 4"),
    (array(number(0, 1)), [0, 1], [0, 1.5], "[1] must be <= 1, got 1.5"),
    (base64_bytes(max_bytes=4), base64.b64encode(b"abcd").decode(),
     base64.b64encode(b"abcde").decode(), "must decode to at most 4 bytes, got 5"),
])
def test_the_bound_passes_and_just_past_it_is_named(reader, inside, past, message):
    read_fields({"f": inside}, {"f": reader})
    assert error_of({"f": past}, {"f": reader}).startswith("field f " + message)


def test_a_number_bound_changed_after_it_was_made_is_checked():
    reader = number(0, 100)
    reader.minimum, reader.maximum = 10, 50
    assert reader(10) == 10.0 and reader(50.0) == 50.0
    for value, message in ((50.5, "must be <= 50, got 50.5"), (9, "must be >= 10, got 9")):
        assert error_of({"f": value}, {"f": reader}) == "field f " + message
    reader.maximum = None  # float32's range is the only upper bound again
    assert reader(1e38) == 1e38
    assert error_of({"f": 1e39}, {"f": reader}).startswith("field f must be within float32")


def test_readers_expose_their_bounds():
    assert (number(1, 2).minimum, number(1, 2).maximum) == (1, 2)
    assert (integer(3, 4).minimum, integer(3, 4).maximum) == (3, 4)
    assert (string(2, 9).min_length, string(2, 9).max_length) == (2, 9)
    reader = array(number(0, 5), min_length=1, max_length=7)
    assert (reader.min_length, reader.max_length, reader.item.maximum) == (1, 7, 5)
    assert (base64_bytes(3, 8).min_bytes, base64_bytes(3, 8).max_bytes) == (3, 8)
    assert (image(10, 20).max_width, image(10, 20).max_height) == (10, 20)


# --- messages that say what to fix ----------------------------------------------------------


def test_an_integer_field_says_the_number_is_not_whole():
    assert error_of({"rooms": 2.5}, {"rooms": integer(0, 20)}) == (
        "field rooms must be an integer, got 2.5 (not a whole number)")
    assert read_fields({"rooms": 2.0}, {"rooms": integer(0, 20)}) == {"rooms": 2}


@pytest.mark.parametrize(("sent", "hint"), [("City", "city"), ("roms", "rooms"),
                                            ("ROOMS", "rooms")])
def test_an_unknown_field_close_to_a_known_one_gets_did_you_mean(sent, hint):
    fields = {"city": string(), "rooms": integer()}
    payload = {"city": "x", "rooms": 1, sent: 1}
    del payload[hint]
    assert error_of(payload, fields) == (
        f"unknown field {sent}: did you mean {hint}? (expected city, rooms)")


@pytest.mark.parametrize(("sent", "hint"), [("lem", "len"), ("idz", "ids"), ("aeg", "age"),
                                            ("lens", "len"), ("ix", None), ("x", None),
                                            ("lxx", None), ("nel", None)])
def test_one_slip_in_a_short_name_gets_did_you_mean(sent, hint):
    """A letter changed, added or dropped, or two neighbours swapped, in a name of 3 letters
    or more (one slip from a 1- or 2-letter name could be any name); two slips are
    no slip (lxx, and nel from len)."""
    fields = {"age": array(number()), "len": integer(), "ids": integer()}
    payload = {"age": [1.0], "len": 1, "ids": 1, sent: 1}
    if hint:
        del payload[hint]
    guess = f": did you mean {hint}?" if hint else ""
    assert error_of(payload, fields) == f"unknown field {sent}{guess} (expected age, len, ids)"


def test_an_unknown_field_far_from_every_known_one_gets_no_guess():
    assert error_of({"city": "x", "rooms": 1, "colour": 1},
                    {"city": string(), "rooms": integer()}) == (
        "unknown field colour (expected city, rooms)")


def test_a_string_is_not_empty_unless_allowed():
    assert error_of({"s": ""}, {"s": string()}) == "field s must not be empty"
    assert read_fields({"s": ""}, {"s": string(min_length=0)}) == {"s": ""}


# --- optional fields ------------------------------------------------------------------------


def test_an_optional_field_left_out_or_null_takes_its_default():
    fields = {"prompt": string(), "temperature": optional(number(0, 2), default=1.0)}
    assert read_fields({"prompt": "hi"}, fields) == {"prompt": "hi", "temperature": 1.0}
    assert read_fields({"prompt": "hi", "temperature": None}, fields)["temperature"] == 1.0
    assert read_fields({"prompt": "hi", "temperature": 0.5}, fields)["temperature"] == 0.5


def test_an_optional_field_sent_is_checked_like_any_other():
    fields = {"prompt": string(), "temperature": optional(number(0, 2), default=1.0)}
    assert error_of({"prompt": "hi", "temperature": 3}, fields) == (
        "field temperature must be <= 2, got 3")
    assert error_of({"prompt": "hi", "temperature": "hot"}, fields) == (
        "field temperature must be a number, got a string")


def test_messages_list_optional_fields_apart():
    fields = {"prompt": string(), "seed": optional(integer(0, 99))}
    assert error_of({}, fields) == "missing field prompt (expected prompt; optional: seed)"
    assert error_of({"prompt": "x", "sed": 1}, fields) == (
        "unknown field sed: did you mean seed? (expected prompt; optional: seed)")


# --- base64 bytes ---------------------------------------------------------------------------


def test_base64_reads_both_alphabets_and_missing_padding():
    data = bytes(range(256))
    reader = base64_bytes(max_bytes=256)
    assert reader(base64.b64encode(data).decode()) == data
    assert reader(base64.urlsafe_b64encode(data).decode()) == data
    assert reader(base64.b64encode(b"ab").decode().rstrip("=")) == b"ab"
    assert reader(base64.b64encode(data).decode() + "\n") == data  # line breaks are no harm


@pytest.mark.parametrize(("value", "message"), [
    ("not base64!", "field b must be base64 text (A-Z, a-z, 0-9, + and / or - and _), got"),
    ("", "field b must not be empty"),
    (5, "field b must be base64 text, got a number"),
])
def test_bad_base64_is_named(value, message):
    assert error_of({"b": value}, {"b": base64_bytes()}).startswith(message)


def test_base64_too_long_is_refused_before_it_is_decoded():
    message = error_of({"b": "A" * 40_000_000}, {"b": base64_bytes(max_bytes=1000)})
    assert message == "field b must decode to at most 1000 bytes, got about 30000000"


# --- images: their size from the header, checked against real encoders -------------------


def encoded(kind, height, width):
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        pixels = tf.constant(np.arange(height * width * 3, dtype=np.uint8).reshape(
            height, width, 3))
        encode = tf.image.encode_png if kind == "PNG" else tf.io.encode_jpeg
        return sess.run(encode(pixels))


@pytest.mark.parametrize("kind", ["PNG", "JPEG"])
@pytest.mark.parametrize(("height", "width"), [(1, 1), (3, 7), (480, 640), (17, 1000)])
def test_the_header_size_is_what_tensorflow_decodes(kind, height, width):
    data = encoded(kind, height, width)
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        decoded = sess.run(tf.shape(tf.io.decode_image(data)))
    assert image_size(data) == (kind, (width, height))
    assert tuple(decoded[:2]) == (height, width)


def gif(width, height):
    """A GIF file: header, logical screen and a 1x1 image of one colour."""
    return (b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
            + b",\0\0\0\0\x01\0\x01\0\0\x02\x02D\x01\0;")


def bmp(width, height):
    """A 24-bit BMP of width x |height| (a negative height is stored top-down)."""
    row = (width * 3 + 3) // 4 * 4
    pixels = b"\0" * row * abs(height)
    header = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 0, 0, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40 + len(pixels), 0, 0, 54) + header + pixels


def png_header_only(width, height):
    """The first bytes of a PNG of any stated size: what image() reads, and all it reads."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr
            + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)))


def test_gif_and_bmp_sizes():
    assert image_size(gif(5, 9)) == ("GIF", (5, 9))
    assert image_size(bmp(4, 3)) == ("BMP", (4, 3))
    assert image_size(bmp(4, -3)) == ("BMP", (4, 3))
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        assert tuple(sess.run(tf.shape(tf.io.decode_bmp(bmp(4, 3))))) == (3, 4, 3)


def b64(data):
    return base64.b64encode(data).decode()


def test_an_image_within_its_bounds_reads_as_its_bytes():
    data = encoded("PNG", 30, 40)
    assert read_fields({"img": b64(data)}, {"img": image(40, 30)}) == {"img": data}


@pytest.mark.parametrize(("data", "message"), [
    (png_header_only(20000, 20000),
     "field img is a PNG of 20000x20000 pixels; at most 2048x2048 are taken"),
    (png_header_only(2049, 1), "field img is a PNG of 2049x1 pixels; at most 2048x2048"),
    (png_header_only(0, 0), "field img is a PNG of 0x0 pixels: it has none"),
    (png_header_only(10, 10)[:20], "field img is a PNG whose header holds no size"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "field img is a JPEG whose header holds no size"),
    (gif(5000, 2), "field img is a GIF of 5000x2 pixels; at most 2048x2048"),
    (bmp(1, -3000)[:40], "field img is a BMP of 1x3000 pixels; at most 2048x2048"),
    (b"RIFF\0\0\0\0WEBPVP8 ", "field img must be a PNG, JPEG, GIF or BMP image, got bytes "
                              "starting b'RIFF"),
])
def test_an_image_past_its_bounds_or_unreadable_is_refused_from_its_header(data, message):
    assert error_of({"img": b64(data)}, {"img": image()}).startswith(message)


def test_a_real_jpeg_too_large_is_refused():
    data = encoded("JPEG", 50, 3000)
    assert error_of({"img": b64(data)}, {"img": image()}) == (
        "field img is a JPEG of 3000x50 pixels; at most 2048x2048 are taken")
