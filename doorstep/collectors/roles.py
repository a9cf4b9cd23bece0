"""What each role may do with training, certificates and quality reviews."""

from doorstep.core.roles import Role

PERMISSIONS: dict[Role, list[str]] = {
    Role.ADMIN: [
        "collectors.manage_training",
        "collectors.view_team_training",
        "collectors.review_quality",
    ],
    Role.MANAGER: ["collectors.view_team_training", "collectors.review_quality"],
    Role.SUPERVISOR: ["collectors.view_team_training", "collectors.review_quality"],
    Role.TRAINER: ["collectors.manage_training", "collectors.view_team_training"],
    Role.COLLECTOR: ["collectors.take_training"],
    Role.COMPLIANCE: ["collectors.view_team_training"],
}
