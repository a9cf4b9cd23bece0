from doorstep.core.roles import Role

PERMISSIONS: dict[Role, list[str]] = {
    Role.ADMIN: ["visits.plan_visits"],
    Role.MANAGER: ["visits.plan_visits"],
    Role.SUPERVISOR: ["visits.plan_visits"],
    Role.COLLECTOR: ["visits.record_visits"],
}
