#!/usr/bin/env python3
"""Renders expertscope.svg to the PNG sizes the application embeds, through librsvg and
cairo (present on any desktop Debian; no Python packages needed). Run it from this folder
after editing the SVG:  ./render_pngs.py expertscope.svg expertscope 16 24 32 48 64 128 256
"""
import ctypes, sys
rsvg = ctypes.CDLL("librsvg-2.so.2"); cairo = ctypes.CDLL("libcairo.so.2")
rsvg.rsvg_handle_new_from_file.restype = ctypes.c_void_p
rsvg.rsvg_handle_new_from_file.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
cairo.cairo_image_surface_create.restype = ctypes.c_void_p
cairo.cairo_create.restype = ctypes.c_void_p
cairo.cairo_create.argtypes = [ctypes.c_void_p]
cairo.cairo_scale.argtypes = [ctypes.c_void_p, ctypes.c_double, ctypes.c_double]
rsvg.rsvg_handle_render_cairo.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
cairo.cairo_surface_write_to_png.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
cairo.cairo_destroy.argtypes = [ctypes.c_void_p]; cairo.cairo_surface_destroy.argtypes = [ctypes.c_void_p]
src, base = sys.argv[1], sys.argv[2]
h = rsvg.rsvg_handle_new_from_file(src.encode(), None)
assert h
for px in [int(x) for x in sys.argv[3:]]:
    s = cairo.cairo_image_surface_create(0, px, px)
    cr = cairo.cairo_create(s)
    cairo.cairo_scale(cr, px / 256.0, px / 256.0)
    assert rsvg.rsvg_handle_render_cairo(h, cr)
    cairo.cairo_surface_write_to_png(s, f"{base}-{px}.png".encode())
    cairo.cairo_destroy(cr); cairo.cairo_surface_destroy(s)
