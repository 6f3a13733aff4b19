"""Tables for people: one module per area (two_layer, shortcut, deep_resnet), shared helpers in `common`.

Every table fits 80 columns without cutting a number or a header (fewer or narrower columns, a second
table, or wrapping that keeps numbers whole); values below a reported tolerance print as 0 or "< tol";
headers say what a column means. Payloads come from the results' own `to_dict()`.
"""
