from doorstep.core.roles import Role

PERMISSIONS: dict[Role, list[str]] = {
    Role.ADMIN: ["scoring.view_models", "scoring.train_model", "scoring.approve_model"],
    Role.MANAGER: ["scoring.view_models", "scoring.train_model", "scoring.approve_model"],
    Role.COMPLIANCE: ["scoring.view_models"],
}
