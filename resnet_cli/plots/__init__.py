"""Figures: one module per area (two_layer, shortcut, deep_resnet); matplotlib is imported lazily, inside
the functions, so commands without --plot never load it. Every panel has axis labels, every curve is in
the legend, nothing overlaps, estimated (SLQ) points carry their own marker."""
