from doorstep.core.roles import Role

PERMISSIONS: dict[Role, list[str]] = {
    Role.ADMIN: ["payments.view_payment", "payments.import_payments"],
    Role.MANAGER: ["payments.view_payment", "payments.import_payments"],
    Role.SUPERVISOR: ["payments.view_payment"],
    Role.COLLECTOR: ["payments.view_payment"],
    Role.COMPLIANCE: ["payments.view_payment"],
}
