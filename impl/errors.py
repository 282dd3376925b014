"""The one exception type impl raises for inputs TensorFlow would reject."""


class InvalidArgumentError(ValueError):
    """An input TensorFlow rejects: bad dtype, shape, axis or label value."""
