// Test settings from .env.test; anything already in the environment wins (CI may point elsewhere).
process.loadEnvFile(`${__dirname}/../../.env.test`);
