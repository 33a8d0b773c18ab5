"""What can go wrong when someone asks for statistics (R5), named for what went wrong."""


class StatisticsError(Exception):
    """Base of every statistics rule violation; the API maps each to a 4xx problem."""


class UndeclaredDimension(StatisticsError):
    """The query names a dimension the API does not declare for this kind of statistic."""

    def __init__(self, dimension: str, declared: tuple[str, ...]) -> None:
        super().__init__(
            f"dimension {dimension!r} is not declared; declared: {', '.join(declared)}"
        )
        self.dimension = dimension
        self.declared = declared


class GroupSizeBelowMinimum(StatisticsError):
    """The query asks for a k below the deployment's minimum group size (R5)."""

    def __init__(self, requested: int, minimum: int) -> None:
        super().__init__(f"k={requested} is below this deployment's minimum group size {minimum}")
        self.requested = requested
        self.minimum = minimum
