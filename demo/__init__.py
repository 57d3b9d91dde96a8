"""The offline demo on a real small model (`make demo`)."""
