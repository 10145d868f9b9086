"""The navigation bar: which pages each role sees, and each role's home page.

A new page adds one ``NavItem`` here (and its router in ``routes/__init__.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from directives.workflow import Role


@dataclass(frozen=True)
class NavItem:
    """A link of the navigation bar, shown to ``roles``."""

    label: str
    path: str
    roles: frozenset[Role]

    def active(self, current: str) -> bool:
        """True when ``current`` is this page or below it."""
        return current == self.path or current.startswith(self.path.rstrip("/") + "/")


_ALL = frozenset({Role.SECRETARIAT, Role.AGENCY, Role.LEADER})

NAV: list[NavItem] = [
    NavItem("Sổ theo dõi", "/tasks", frozenset({Role.SECRETARIAT, Role.LEADER})),
    NavItem("Nhiệm vụ của đơn vị", "/tasks", frozenset({Role.AGENCY})),
    NavItem("Thư đã gửi", "/mail", frozenset({Role.SECRETARIAT})),
    NavItem("Hộp việc", "/inbox", frozenset({Role.AGENCY})),
    NavItem("Việc chờ xử lý", "/desk", frozenset({Role.SECRETARIAT})),
    NavItem("Nhập văn bản", "/directives/new", frozenset({Role.SECRETARIAT})),
    NavItem("Nhập từ tệp", "/import", frozenset({Role.SECRETARIAT})),
    NavItem("Bảng điều hành", "/dashboard", frozenset({Role.SECRETARIAT, Role.LEADER})),
    NavItem("Quản trị", "/admin", frozenset({Role.SECRETARIAT})),
]

# Where "/" sends each role after signing in.
HOME: dict[Role, str] = {
    Role.SECRETARIAT: "/tasks",
    Role.AGENCY: "/inbox",
    Role.LEADER: "/dashboard",
}


def nav_for(role: Role | None) -> list[NavItem]:
    """The links ``role`` sees, in order (none before signing in)."""
    if role is None:
        return []
    return [item for item in NAV if role in item.roles]
