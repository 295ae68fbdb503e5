"""One package per outside system; each translates its library's world into the ports'."""
