"""The page's helpers, one module per part of the page; the core they call is ``tapeapp`` (no ML logic here)."""
