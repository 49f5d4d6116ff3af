// Run once per `docker compose up` by mongo-init, as root (docker-compose.yml); idempotent.
// 1. Initiates the single-node replica set rs0 and waits for a primary (transactions need one).
// 2. One user per service, readWrite on its own database only (the registry also on the database its replay
//    rebuilds into), and the exporter's monitoring user. Passwords: MONGO_PASSWORD_<SERVICE>.
try {
  rs.status();
  print("mongo-init: replica set rs0 already initiated");
} catch (e) {
  if (e.codeName !== "NotYetInitialized") { throw e; }
  rs.initiate({ _id: "rs0", members: [{ _id: 0, host: "mongo:27017" }] });
  print("mongo-init: replica set rs0 initiated");
}
const deadline = Date.now() + 60000;
while (!db.hello().isWritablePrimary) {
  if (Date.now() > deadline) { throw new Error("rs0 elected no primary within 60 s"); }
  sleep(500);
}

const admin = db.getSiblingDB("admin");
function ensureUser(name, variable, roles) {
  const pwd = process.env[variable];
  if (!pwd) { throw new Error("set " + variable + ": the password of MongoDB user " + name); }
  if (admin.getUser(name)) {
    admin.updateUser(name, { pwd, roles });
  } else {
    admin.createUser({ user: name, pwd, roles });
  }
  print("mongo-init: user " + name + " " + JSON.stringify(roles.map((r) => r.role + "@" + r.db)));
}

for (const service of ["intake", "screening", "review", "registry", "notify", "console"]) {
  const roles = [{ role: "readWrite", db: "zhongshi_" + service }];
  if (service === "registry") { roles.push({ role: "readWrite", db: "zhongshi_registry_replay" }); }
  ensureUser("zhongshi-" + service, "MONGO_PASSWORD_" + service.toUpperCase(), roles);
}
ensureUser("exporter", "MONGO_PASSWORD_EXPORTER",
           [{ role: "clusterMonitor", db: "admin" }, { role: "read", db: "local" }]);
