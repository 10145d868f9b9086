"""When each job runs: the one source of truth for prefect.yaml and the embedded scheduler.

Every schedule fires every day (the jobs consult the working calendar themselves: a làm bù
Saturday works, a holiday Monday does not), in Asia/Ho_Chi_Minh. Weekday fields stay ``*``:
APScheduler 3 reads ``1-5`` as Tuesday–Saturday, cron as Monday–Friday.
"""

from __future__ import annotations

from dataclasses import dataclass

TIMEZONE = "Asia/Ho_Chi_Minh"


@dataclass(frozen=True)
class Schedule:
    """A job's cron expression and the slug of its schedule."""

    job: str
    cron: str
    slug: str
    description: str


SCHEDULES = (
    Schedule(
        "recurring",
        "30 6 * * *",
        "recurring-daily-0630",
        "Nhiệm vụ định kỳ: giao kỳ mới (06:30, trước khi đôn đốc)",
    ),
    Schedule(
        "chase",
        "0 7 * * *",
        "chase-daily-0700",
        "Đôn đốc: nhắc hạn, nhắc nhận nhiệm vụ, đôn đốc quá hạn (07:00 mỗi ngày làm việc)",
    ),
    Schedule(
        "escalate",
        "15 7 * * *",
        "escalate-daily-0715",
        "Báo cáo vượt cấp: thủ trưởng đơn vị, lãnh đạo phụ trách (07:15)",
    ),
    Schedule(
        "digest",
        "0 7 * * *",
        "digest-daily-0700",
        "Báo cáo tuần gửi lãnh đạo (ngày làm việc đầu tiên của tuần, 07:00)",
    ),
    Schedule(
        "programme",
        "30 7 * * *",
        "programme-daily-0730",
        "Chương trình công tác tháng: tạm tính từ ngày 25, chốt số liệu ngày làm việc đầu tháng",
    ),
    Schedule(
        "dispatch",
        "*/10 * * * *",
        "dispatch-every-10-minutes",
        "Gửi thư trong hộp thư đi (10 phút một lần; không gửi vào ngày nghỉ)",
    ),
)
