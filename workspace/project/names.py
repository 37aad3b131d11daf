"""Names for the demo project."""


def initials(name: str) -> str:
    """The initials of `name`, each followed by a dot: "Ada Lovelace" gives "A.L."."""
    return "".join(f"{part[0].upper()}." for part in name.split(" "))
