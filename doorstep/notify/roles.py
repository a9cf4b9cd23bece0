from doorstep.core.roles import Role

PERMISSIONS: dict[Role, list[str]] = {
    Role.ADMIN: ["notify.view_outbox"],
    Role.MANAGER: ["notify.view_outbox"],
    Role.SUPERVISOR: ["notify.view_outbox"],
    Role.COMPLIANCE: ["notify.view_outbox"],
}
