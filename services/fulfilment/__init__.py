"""Fulfilment: turns located findings into an extract, an erasure or another right's effect."""
