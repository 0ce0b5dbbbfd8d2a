"""Hole markers to fill: `diffill fill examples/shapes.py --holes --diff`."""

import math
from dataclasses import dataclass


@dataclass
class Circle:
    radius: float

    def area(self) -> float:
        return math.pi * self.radius ** 2

    def perimeter(self) -> float:
        return 2 * math.pi * <|fill|>


@dataclass
class Rectangle:
    width: float
    height: float

    def area(self) -> float:
        return self.width * self.height

    def perimeter(self) -> float:
        return <|fill|>


def total_area(shapes: list) -> float:
    return sum(shape.<|fill|> for shape in shapes)
